# syntax=docker/dockerfile:1
# memorize/model-host: ModelHost on CPU (tfjs-node, libtensorflow); models from --model-root, memories to --memory-root.
# Build from the repository root: docker build -f deploy/docker/model-host.Dockerfile -t memorize/model-host:0.1.0 .
ARG NODE_VERSION=20.20.2

FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
RUN ./deploy/docker/prepare.sh @tensorflow/tfjs-node

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production MEMORIZE_HOST=0.0.0.0 MEMORIZE_BACKEND=node
WORKDIR /app
COPY --from=build /out /app
USER 10001:10001
EXPOSE 50052
HEALTHCHECK --interval=20s --timeout=5s --start-period=30s --retries=3 CMD ["node", "deploy/docker/health.mjs", "50052"]
ENTRYPOINT ["node", "cli/bin/memorize.mjs"]
CMD ["serve", "model-host", "--port", "50052"]
