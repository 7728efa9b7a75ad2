# WardCam: `make demo` runs the appliance with synthetic cameras; `make test` runs the whole suite.
# Both install what they need (Debian packages, a venv) and do nothing extra when run again.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMPS := .stamps
# gstreamer1.0-x holds the Pango plugins: the synthetic cameras draw their clock with clockoverlay
APT_RUNTIME := ffmpeg mosquitto mosquitto-clients python3-venv python3-gi gir1.2-gst-rtsp-server-1.0 \
	gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad \
	gstreamer1.0-x fonts-dejavu-core
APT_TEST := chromium postgresql poppler-utils nftables
PY_DIRS := appliance addons web tests bench tools
# Four pytest-xdist workers on two cores: most tests wait (for ffmpeg, a camera, a browser) rather than compute.
# Modules sharing a module-scoped fixture go whole to one worker (tests/conftest.py, --dist loadgroup).
PYTEST_ARGS ?= -n 4 --dist loadgroup

.PHONY: demo test lint typecheck deps test-deps clean image-amd64 image-arm64 test-image image-deps

demo: deps
	$(VENV)/bin/wardcam demo --data-dir ./data-demo --host 127.0.0.1 --port 8080

# compileall first: every test starts Python processes (the served appliance, its CLI), and they would each
# compile the project's sources again where PYTHONDONTWRITEBYTECODE is set.
test: deps test-deps lint typecheck
	$(VENV)/bin/python -m compileall -q appliance addons web > /dev/null
	tools/with-postgres.sh $(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# Quality gates: ruff on everything, mypy --strict on the core.
lint: test-deps
	$(VENV)/bin/ruff check $(PY_DIRS)
	$(VENV)/bin/ruff format --check $(PY_DIRS)

typecheck: test-deps
	$(VENV)/bin/mypy

deps: $(STAMPS)/apt-runtime $(STAMPS)/venv

test-deps: $(STAMPS)/apt-test $(STAMPS)/venv

# The apt stamps (these two and apt-image below) depend on this Makefile: a package added to a list is
# installed in a checkout that already has its stamp (apt-install.sh installs only what is missing, so a
# re-run costs a dpkg query a package).
$(STAMPS)/apt-runtime: Makefile
	tools/apt-install.sh $(APT_RUNTIME)
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/apt-test: Makefile
	tools/apt-install.sh $(APT_TEST)
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/venv: pyproject.toml | $(STAMPS)/apt-runtime
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	@mkdir -p $(STAMPS) && touch $@

clean:
	rm -rf $(VENV) $(STAMPS) tests/artifacts

# The appliance image (image/README.md). Root only (mmdebstrap --mode=root); not part of `make test`.
IMAGE_APT := mmdebstrap mtools dosfstools fdisk e2fsprogs systemd-container nftables curl
image-deps: $(STAMPS)/apt-image $(STAMPS)/venv

$(STAMPS)/apt-image: Makefile
	tools/apt-install.sh $(IMAGE_APT)
	@mkdir -p $(STAMPS) && touch $@

image-amd64: image-deps
	image/build.sh image amd64

image-arm64: image-deps
	tools/apt-install.sh qemu-user-static binfmt-support
	image/build.sh image arm64

# Builds the amd64 root file system, checks its units, serves /healthz from it; WARDCAM_TEST_QEMU=1 also
# boots image/out/wardcam-amd64.img under qemu (make image-amd64 first).
test-image: image-deps
	image/test-image.sh
