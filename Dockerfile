# sheets-ai as a Cloud Run job: ENTRYPOINT sheets-ai job, options from SHEETS_AI_* variables (deploy/README.md).
# Two stages: wheels are built where pip and a compiler may run; the final image only installs them.

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY sheets_ai ./sheets_ai
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    XDG_CACHE_HOME=/tmp/cache
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin sheets
USER 10001
WORKDIR /home/sheets
ENTRYPOINT ["sheets-ai", "job"]
