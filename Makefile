# Thin aliases of the npm scripts in package.json; `setup` installs what a fresh machine lacks.
.PHONY: setup run test bench load stop clean build lint
setup:
	@bash scripts/setup.sh
run: setup
	@npm run --silent run
test: setup
	@npm run --silent test
bench: setup
	@npm run --silent bench
load: setup
	@npm run --silent load
stop:
	@bash scripts/stop.sh
clean:
	@bash scripts/clean.sh
build: setup
	@npm run --silent build
lint: setup
	@npm run --silent lint
