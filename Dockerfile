# CPU image by default. For a GPU image pick a CUDA PyTorch base that already carries torch 2.13.0:
#   docker build --build-arg BASE_IMAGE=pytorch/pytorch:2.13.0-cuda12.8-cudnn9-runtime -t normscope:cuda .
ARG BASE_IMAGE=python:3.11-slim-bookworm

# Stage 1 builds the wheel as a release does; the image gets the wheel, never the source tree.
FROM python:3.11-slim-bookworm AS wheel
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY backend ./backend
RUN pip install --no-cache-dir build==1.2.2.post1 \
    && python -m build --wheel --outdir /wheels

FROM ${BASE_IMAGE}

# Where pip finds torch when the base has none: the CPU wheel index keeps the CPU image small.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# Optional extras, e.g. "ray" for the image of a Ray cluster's head and workers (docker-compose's ray profile).
ARG NORMSCOPE_EXTRAS=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NORMSCOPE_HOST=0.0.0.0 \
    NORMSCOPE_PORT=8000 \
    NORMSCOPE_DATA_DIR=/data

COPY constraints.txt /tmp/constraints.txt
COPY --from=wheel /wheels /tmp/wheels
RUN set -- /tmp/wheels/normscope-*.whl \
    && pip install --no-cache-dir --extra-index-url "${TORCH_INDEX_URL}" -c /tmp/constraints.txt \
        "$1${NORMSCOPE_EXTRAS:+[$NORMSCOPE_EXTRAS]}" \
    && rm -rf /tmp/wheels /tmp/constraints.txt \
    && useradd --create-home --uid 10001 normscope \
    && mkdir -p /data \
    && chown normscope /data

USER 10001
WORKDIR /home/normscope
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4)"]
CMD ["normscope", "serve"]
