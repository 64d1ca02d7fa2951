# syntax=docker/dockerfile:1
# memorize/evaluator: the Evaluator; its store (SQLite) under /var/lib/memorize, a volume. Also runs sweep cells (memorize cluster cell).
# Build from the repository root: docker build -f deploy/docker/evaluator.Dockerfile -t memorize/evaluator:0.1.0 .
ARG NODE_VERSION=20.20.2

FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
RUN ./deploy/docker/prepare.sh better-sqlite3

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production MEMORIZE_HOST=0.0.0.0 MEMORIZE_EVALUATOR_DATA_DIR=/var/lib/memorize
WORKDIR /app
COPY --from=build /out /app
RUN mkdir -p /var/lib/memorize && chown 10001:10001 /var/lib/memorize
USER 10001:10001
EXPOSE 50054
HEALTHCHECK --interval=20s --timeout=5s --start-period=30s --retries=3 CMD ["node", "deploy/docker/health.mjs", "50054"]
ENTRYPOINT ["node", "cli/bin/memorize.mjs"]
CMD ["serve", "evaluator", "--port", "50054"]
