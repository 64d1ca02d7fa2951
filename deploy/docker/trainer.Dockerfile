# syntax=docker/dockerfile:1
# memorize/trainer: the Trainer; its run store (SQLite) under /var/lib/memorize, a volume.
# Build from the repository root: docker build -f deploy/docker/trainer.Dockerfile -t memorize/trainer:0.1.0 .
ARG NODE_VERSION=20.20.2

FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
RUN ./deploy/docker/prepare.sh better-sqlite3

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production MEMORIZE_HOST=0.0.0.0 MEMORIZE_TRAINER_DATA_DIR=/var/lib/memorize
WORKDIR /app
COPY --from=build /out /app
RUN mkdir -p /var/lib/memorize && chown 10001:10001 /var/lib/memorize
USER 10001:10001
EXPOSE 50053
HEALTHCHECK --interval=20s --timeout=5s --start-period=30s --retries=3 CMD ["node", "deploy/docker/health.mjs", "50053"]
ENTRYPOINT ["node", "cli/bin/memorize.mjs"]
CMD ["serve", "trainer", "--port", "50053"]
