# syntax=docker/dockerfile:1
# memorize/data: DataService (corpora, tokenization, training batches); reads --data-root (MEMORIZE_DATA_ROOT).
# Build from the repository root: docker build -f deploy/docker/data.Dockerfile -t memorize/data:0.1.0 .
ARG NODE_VERSION=20.20.2

FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
RUN ./deploy/docker/prepare.sh

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production MEMORIZE_HOST=0.0.0.0
WORKDIR /app
COPY --from=build /out /app
USER 10001:10001
EXPOSE 50051
HEALTHCHECK --interval=20s --timeout=5s --start-period=30s --retries=3 CMD ["node", "deploy/docker/health.mjs", "50051"]
ENTRYPOINT ["node", "cli/bin/memorize.mjs"]
CMD ["serve", "data", "--port", "50051"]
