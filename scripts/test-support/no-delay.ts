// Whether a server turned TCP_NODELAY on for a connection: Node has no getsockopt, so this watches
// net.Socket#setNoDelay while `connect` opens one client connection, then counts the calls that
// turned it on for a socket whose peer is that client (the server's side of the connection).
import net from 'node:net';

/** `connect` opens one connection and answers its local port. */
export async function serverNoDelayCalls(connect: () => Promise<number>): Promise<number> {
  const original = net.Socket.prototype.setNoDelay;
  const on: net.Socket[] = [];
  net.Socket.prototype.setNoDelay = function (this: net.Socket, noDelay?: boolean) {
    if (noDelay !== false) on.push(this);
    return original.call(this, noDelay);
  };
  try {
    const localPort = await connect();
    return on.filter((s) => s.remotePort === localPort).length;
  } finally {
    net.Socket.prototype.setNoDelay = original;
  }
}
