// The sign-in form: one field for the access token an administrator handed out (michi has no
// accounts of its own). Shown when there is no token or the API refused it (401).

import type { Translate } from '../i18n.js';
import { h, setText } from './dom.js';

export interface SignInView {
  readonly element: HTMLElement;
  show(invalid: boolean): void;
  hide(): void;
  setLanguage(t: Translate): void;
}

export function createSignIn(onSubmit: (token: string) => void): SignInView {
  const title = h('h2', { class: 'sign-in__title', id: 'sign-in-title' });
  const prompt = h('p', { class: 'sign-in__prompt' });
  const label = h('label', { for: 'sign-in-token' });
  const input = h('input', { id: 'sign-in-token', type: 'password', autocomplete: 'off', required: true, 'data-testid': 'sign-in-token' });
  const error = h('p', { class: 'sign-in__error', role: 'alert', 'data-testid': 'sign-in-error', hidden: true });
  const submit = h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'sign-in-submit' });
  const form = h(
    'form',
    { class: 'sign-in', 'aria-labelledby': 'sign-in-title', 'data-testid': 'sign-in' },
    title,
    prompt,
    label,
    input,
    error,
    submit,
  );
  const element = h('div', { class: 'sign-in-backdrop', hidden: true }, form);
  let t: Translate = (k) => k;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (token) onSubmit(token);
  });
  return {
    element,
    show(invalid) {
      element.hidden = false;
      error.hidden = !invalid;
      setText(error, t('auth.invalid'));
      input.value = '';
      input.focus();
    },
    hide() {
      element.hidden = true;
    },
    setLanguage(nextT) {
      t = nextT;
      setText(title, t('auth.title'));
      setText(prompt, t('auth.prompt'));
      setText(label, t('auth.token'));
      setText(submit, t('auth.submit'));
      setText(error, t('auth.invalid'));
    },
  };
}
