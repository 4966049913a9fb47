# syntax=docker/dockerfile:1
# BitNet.Server container image: the OpenAI-compatible server plus the `bitnet` CLI, serving the bundled
# 3M-parameter model offline by default. See deploy/README.md.
#
#   docker build -t bitnet-server .
#   docker run --rm -p 8080:8080 bitnet-server                       # bundled model, no network needed
#   docker run --rm -p 8080:8080 -v bitnet-models:/models-cache \
#     -e BitNet__Model=hf:microsoft/bitnet-b1.58-2B-4T-gguf bitnet-server   # downloads ~1.2 GB once into the volume
#
# Every setting is an environment variable: BitNet__<Option> for the "BitNet" section of appsettings.json
# (BitNet__Model, BitNet__ContextSize, BitNet__Parallel, BitNet__Threads, BitNet__ApiKeys__0, ...).

ARG DOTNET_VERSION=10.0

# ---- build: restore, then publish the server (framework-dependent, the runtime image provides ASP.NET Core) and the CLI
FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
WORKDIR /src

# Project files first so the restore layer is reused while only source code changes.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/BitNet.Runtime/BitNet.Runtime.csproj src/BitNet.Runtime/
COPY src/BitNet.Server/BitNet.Server.csproj src/BitNet.Server/
COPY src/BitNet.Cli/BitNet.Cli.csproj src/BitNet.Cli/
RUN dotnet restore src/BitNet.Server/BitNet.Server.csproj \
 && dotnet restore src/BitNet.Cli/BitNet.Cli.csproj

# Sources, the root appsettings.json and models/ (the bundled model; .dockerignore keeps any other GGUF out).
COPY . .
RUN dotnet publish src/BitNet.Server/BitNet.Server.csproj -c Release --no-restore -o /app \
 && dotnet publish src/BitNet.Cli/BitNet.Cli.csproj -c Release --no-restore -o /app/cli \
 && test -f /app/models/stories3m-b158-i2_s.gguf \
 && test -x /app/cli/bitnet

# ---- runtime: ASP.NET Core runtime only, non-root
FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION} AS runtime
LABEL org.opencontainers.image.title="BitNet.Server" \
      org.opencontainers.image.description="OpenAI-compatible inference server for 1.58-bit (ternary) BitNet models on CPUs"

# The cache volume must exist and belong to the app user before VOLUME, or a fresh named volume comes up root-owned
# and the first model download fails with "permission denied". APP_UID (1654) is the base image's `app` user.
RUN mkdir -p /models-cache && chown "${APP_UID}:${APP_UID}" /models-cache

WORKDIR /app
# The server (/app/BitNet.Server.dll), appsettings.json, the bundled model /app/models/stories3m-b158-i2_s.gguf, the CLI
# (/app/cli/bitnet, used e.g. by the Kubernetes initContainer: `bitnet pull hf:...`).
COPY --from=build /app /app
COPY --chmod=0755 deploy/docker/healthcheck.sh /app/healthcheck.sh

# URLS (not only ASPNETCORE_URLS) because the root appsettings.json sets "Urls": http://127.0.0.1:8080 for local runs,
# and appsettings.json outranks ASPNETCORE_-prefixed variables but not plain ones. Without this the server would
# listen on the container's loopback only. ASPNETCORE_HTTP_PORTS (set by the base image) is cleared so Kestrel does
# not warn that URLS overrides it.
ENV URLS=http://0.0.0.0:8080 \
    ASPNETCORE_URLS=http://0.0.0.0:8080 \
    ASPNETCORE_HTTP_PORTS= \
    BITNET_CACHE=/models-cache \
    BitNet__Model= \
    BitNet__Alias= \
    BitNet__ContextSize=0 \
    BitNet__Parallel=4 \
    BitNet__Threads=0 \
    BitNet__OtlpEndpoint=

EXPOSE 8080
VOLUME /models-cache

USER $APP_UID

# Loading the bundled model takes well under a second; a 2B model from a warm cache a few seconds. A first-start
# download of a hub model can take minutes: raise --start-period for that (docker-compose.yml does).
HEALTHCHECK --interval=15s --timeout=6s --start-period=30s --retries=3 CMD ["/app/healthcheck.sh"]

ENTRYPOINT ["dotnet", "/app/BitNet.Server.dll"]
