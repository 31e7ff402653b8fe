# plumline as a container: the CLI and every plugin package, installed from the packed tarballs
# (the packages are not on the npm registry yet). Runs as the non-root user `node`; state, the
# dead-letter file and file-sink output go to the volume /var/lib/plumline (the working
# directory, so a pipeline's relative paths land there). docs/deployment.md says how it is used
# and what was checked here (dockerfilelint; no image was built on the project's machines).
#   docker build -t plumline:0.1.0 .
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npx --yes pnpm@10.34.9 install --frozen-lockfile \
 && npx --yes pnpm@10.34.9 run pack:all

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /opt/plumline
COPY --from=build /src/packs/ /tmp/packs/
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund /tmp/packs/*.tgz \
 && rm -rf /tmp/packs /root/.npm \
 && ln -s /opt/plumline/node_modules/.bin/plumline /usr/local/bin/plumline \
 && mkdir -p /var/lib/plumline /etc/plumline \
 && chown node:node /var/lib/plumline
USER node
WORKDIR /var/lib/plumline
VOLUME ["/var/lib/plumline"]
# --http: the web view, /metrics, /healthz, /readyz (no authentication: see docs/operations.md).
EXPOSE 9464
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["plumline"]
CMD ["run", "/etc/plumline/pipeline.yaml", "--http", "0.0.0.0:9464"]
