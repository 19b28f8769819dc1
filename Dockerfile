# The image the three services run from (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app

# Dependencies first, pinned by constraints.txt, so code changes reuse this layer: the
# runtime ones only (`pip install .`), none of the extras (`local`: make run's broker and
# mail catcher; `bench`, `dev`: harness, tests, linters); tests/unit/test_runtime_imports.py
# imports every module of the services with those packages refused.
# The client package (the contract models) is ours, installed from the copy below, never
# looked up in a registry.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(d for d in tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'] if not d.startswith('charger-access-client')))" > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY clients/python ./clients/python
COPY services ./services
# The contract as a normal install, as integrating services get it; the service in place
# (editable): package data such as e-mail templates is read from /app.
RUN pip install --no-deps ./clients/python \
    && pip install --no-deps -e . \
    && rm -rf ./clients/python/build \
    && useradd --create-home --uid 10001 app

USER app
EXPOSE 8000 9000
CMD ["access-service"]
