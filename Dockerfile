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
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY events ./events
COPY services ./services
# Installed in place (editable): package data such as e-mail templates is read from /app.
RUN pip install --no-deps -e . \
    && useradd --create-home --uid 10001 app

USER app
EXPOSE 8000 9000
CMD ["access-service"]
