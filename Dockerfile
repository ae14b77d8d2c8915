# Floodgate: one static binary on a minimal, non-root image.
#   docker build -t floodgate .
#   docker run -p 8081:8081 -p 8080:8080 floodgate
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/floodgate ./cmd/floodgate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/floodgate /usr/local/bin/floodgate
COPY examples/policies /etc/floodgate/policies
USER nonroot:nonroot
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/floodgate"]
CMD ["serve", "--grpc-addr", "0.0.0.0:8081", "--http-addr", "0.0.0.0:8080", "--config", "/etc/floodgate/policies"]
