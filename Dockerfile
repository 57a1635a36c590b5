# syntax=docker/dockerfile:1
# Build stage: the same Maven build as the README's first command.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml cluster.xml ./
RUN mvn -B -q dependency:go-offline || true
COPY conf conf
COPY src/main src/main
RUN mvn -B -q package -DskipTests

# Run stage: a JRE, a non-root user, configuration by CLOUDSYNC_* variables.
FROM eclipse-temurin:17-jre
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /var/lib/cloudsync cloudsync
COPY --from=build /src/target/cloudsync.jar /opt/cloudsync/cloudsync.jar
USER 10001
WORKDIR /var/lib/cloudsync
# The embedded PostgreSQL and local chunks live here unless CLOUDSYNC_PG_URL / S3 are set.
ENV CLOUDSYNC_DATA_DIR=/var/lib/cloudsync/data \
    CLOUDSYNC_HTTP_PORT=8080 \
    JAVA_OPTS="-XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError"
VOLUME /var/lib/cloudsync
# 8080: HTTP API; 5701: Hazelcast when clustered.
EXPOSE 8080 5701
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${CLOUDSYNC_HTTP_PORT}/health/ready" > /dev/null || exit 1
# exec: java replaces the shell as PID 1 and receives SIGTERM itself; the shell only expands JAVA_OPTS.
ENTRYPOINT ["sh", "-c", "exec java $JAVA_OPTS -jar /opt/cloudsync/cloudsync.jar \"$@\"", "cloudsync"]
