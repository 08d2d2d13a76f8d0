# CPU image by default. For a GPU image pick a CUDA PyTorch base that already carries torch 2.13.0:
#   docker build --build-arg BASE_IMAGE=pytorch/pytorch:2.13.0-cuda12.8-cudnn9-runtime -t normscope:cuda .
ARG BASE_IMAGE=python:3.11-slim-bookworm
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

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY backend ./backend
COPY frontend ./frontend
RUN pip install --no-cache-dir --extra-index-url "${TORCH_INDEX_URL}" -c constraints.txt ".${NORMSCOPE_EXTRAS:+[$NORMSCOPE_EXTRAS]}" \
    && useradd --create-home --uid 10001 normscope \
    && mkdir -p /data \
    && chown normscope /data

USER 10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4)"]
CMD ["normscope", "serve"]
