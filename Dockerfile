# The embedq image used by docker-compose.yml: compiled JS on Node 24, production deps only.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY jobs jobs
COPY workers workers
RUN npx tsc -p tsconfig.build.json

FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist dist
COPY bin bin
COPY migrations migrations
RUN ln -s /app/bin/embedq /usr/local/bin/embedq
USER node
ENTRYPOINT ["embedq"]
