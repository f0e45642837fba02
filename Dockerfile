# CampusPay: a static binary (CGO off; SQLite is pure Go) in a small image, run as non-root.
#   docker build -t campuspay .
#   docker run -p 8080:8080 -v campuspay-data:/data campuspay
#   (MySQL: -e CAMPUSPAY_DB='user:pass@tcp(db:3306)/campuspay' -e CAMPUSPAY_SECRET=…)
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/campuspay . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/campuspay /campuspay
COPY --from=build --chown=65532:65532 /out/data /data
ENV CAMPUSPAY_ADDR=:8080 CAMPUSPAY_DATA=/data
EXPOSE 8080
VOLUME ["/data"]
USER 65532:65532
ENTRYPOINT ["/campuspay"]
