# syntax=docker/dockerfile:1
# memorize/model-host-gpu: ModelHost on an NVIDIA GPU through @tensorflow/tfjs-node-gpu 4.x. Its libtensorflow is
# 2.9.1 (node_modules/@tensorflow/tfjs-node-gpu/scripts/deps-constants.js, LIBTENSORFLOW_VERSION), built against
# CUDA 11.2 and cuDNN 8.1 (tfjs-node README: CUDA Toolkit 11.2, cuDNN SDK 8.1.0, driver > 450.x; restated by the
# maintainers in tensorflow/tfjs#8362), so the runtime is NVIDIA's CUDA 11.2 + cuDNN 8 image (cuDNN 8.1.1).
# The node needs the NVIDIA driver and container toolkit (the GPU operator); the pod asks for nvidia.com/gpu.
# Build from the repository root: docker build -f deploy/docker/model-host-gpu.Dockerfile -t memorize/model-host-gpu:0.1.0 .
ARG NODE_VERSION=20.20.2
ARG CUDA_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04

# Bullseye has the glibc (2.31) of Ubuntu 20.04, so the native addons built here load in the CUDA image.
FROM node:${NODE_VERSION}-bullseye AS build
WORKDIR /src
COPY . .
RUN ./deploy/docker/prepare.sh @tensorflow/tfjs-node-gpu

FROM ${CUDA_IMAGE}
COPY --from=build /usr/local/bin/node /usr/local/bin/node
ENV NODE_ENV=production MEMORIZE_HOST=0.0.0.0 MEMORIZE_BACKEND=gpu TF_FORCE_GPU_ALLOW_GROWTH=true
WORKDIR /app
COPY --from=build /out /app
USER 10001:10001
EXPOSE 50052
HEALTHCHECK --interval=20s --timeout=5s --start-period=60s --retries=3 CMD ["node", "deploy/docker/health.mjs", "50052"]
ENTRYPOINT ["node", "cli/bin/memorize.mjs"]
CMD ["serve", "model-host", "--port", "50052"]
