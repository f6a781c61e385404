# syntax=docker/dockerfile:1
# Build: docker build -t ghcr.io/analysisfacility/analysisfacility-operator:0.1.0 .

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
# NativeAOT links with the platform toolchain: clang (gcc is the ILCompiler's fallback) and zlib.
RUN apt-get update && apt-get install -y --no-install-recommends clang zlib1g-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /source
# Restore first, from the project files only, so the package layer is cached across source edits.
COPY Directory.Build.props Directory.Packages.props ./
COPY src/Directory.Build.props src/
COPY src/AnalysisFacility.LocalCluster/AnalysisFacility.LocalCluster.csproj src/AnalysisFacility.LocalCluster/
COPY src/AnalysisFacility.Operator.Api/AnalysisFacility.Operator.Api.csproj src/AnalysisFacility.Operator.Api/
COPY src/AnalysisFacility.Operator.Runtime/AnalysisFacility.Operator.Runtime.csproj src/AnalysisFacility.Operator.Runtime/
COPY src/AnalysisFacility.Operator.Builders/AnalysisFacility.Operator.Builders.csproj src/AnalysisFacility.Operator.Builders/
COPY src/AnalysisFacility.Operator.Tokens/AnalysisFacility.Operator.Tokens.csproj src/AnalysisFacility.Operator.Tokens/
COPY src/AnalysisFacility.Operator.Controllers/AnalysisFacility.Operator.Controllers.csproj src/AnalysisFacility.Operator.Controllers/
COPY src/AnalysisFacility.Operator/AnalysisFacility.Operator.csproj src/AnalysisFacility.Operator/
RUN dotnet restore src/AnalysisFacility.Operator/AnalysisFacility.Operator.csproj -r linux-x64
COPY src/ src/
# The Builders project embeds the JupyterHub spawner module from the chart's files/.
COPY charts/analysisfacility-operator/files/ charts/analysisfacility-operator/files/
# A native executable (PublishAot in the project; docs/performance.md): no JIT, no shared framework in the image.
RUN dotnet publish src/AnalysisFacility.Operator/AnalysisFacility.Operator.csproj -c Release -r linux-x64 --no-restore -o /app

# runtime-deps: the native libraries a native .NET program needs (glibc, OpenSSL, ICU-free with invariant globalization).
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0 AS runtime
WORKDIR /app
COPY --from=build /app/AnalysisFacility.Operator ./
# Kestrel listeners are configured by the operator (--http-port, --issuer-port); drop the image's default URL.
# Two malloc arenas: glibc's default (8 per core) keeps freed native memory of TLS and crypto per thread; `bench sessions`
# runs the operator with the same setting (docs/performance.md).
ENV ASPNETCORE_HTTP_PORTS= \
    MALLOC_ARENA_MAX=2
EXPOSE 8080 8443
# 1654 is the image's unprivileged "app" user; numeric so runAsNonRoot can verify it.
USER 1654:1654
ENTRYPOINT ["/app/AnalysisFacility.Operator"]
CMD ["run"]
