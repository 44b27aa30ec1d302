# Reconix controller image: `reconix controller --kube` with Nix inside for evaluation and builds.
# Build: docker build -t reconix:0.1.0 .   (deploy/ refers to the image as `reconix`)

# Exact tag of the Node line the project runs on (Node 20, Debian 12).
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json && npm prune --omit=dev

FROM node:20.20.2-bookworm-slim
# Debian's Nix (2.8) evaluates and builds as the unprivileged user, in a single-user store under /nix.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nix-bin openssh-client git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --gid 10001 reconix \
 && useradd --uid 10001 --gid reconix --home-dir /var/lib/reconix --shell /usr/sbin/nologin reconix \
 && mkdir -p /nix /var/lib/reconix /etc/nix \
 && chown reconix:reconix /nix /var/lib/reconix \
 && printf '%s\n' 'build-users-group =' 'sandbox = false' 'experimental-features = nix-command' >/etc/nix/nix.conf
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY nix ./nix
COPY crds ./crds
ENV NODE_ENV=production RECONIX_STATE_DIR=/var/lib/reconix MALLOC_TRIM_THRESHOLD_=131072
USER 10001:10001
EXPOSE 9402
ENTRYPOINT ["node", "--optimize-for-size", "--max-semi-space-size=2", "/app/dist/src/cli/bin.js"]
CMD ["controller", "--kube", "--listen=0.0.0.0:9402"]
