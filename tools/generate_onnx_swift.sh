#!/bin/bash
# Regenerates Sources/ONNX/onnx.pb.swift from tools/onnx/onnx.proto. Run once when the .proto
# or swift-protobuf changes; the generated Swift is committed, so builds never need protoc.
#
# Versions used for the committed file:
#   tools/onnx/onnx.proto   from PyPI onnx 1.23.2 (site-packages/onnx/onnx.proto, Apache-2.0)
#   protoc                  libprotoc 3.21.12 (Debian 12 protobuf-compiler)
#   protoc-gen-swift        apple/swift-protobuf 1.39.0 (the runtime version in Package.swift)
#
# Building protoc-gen-swift takes a few minutes (release build); it is cached in
# $PLUGIN_DIR (default /tmp/swift-protobuf).
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT_PROTOBUF_VERSION=1.39.0
PLUGIN_DIR=${PLUGIN_DIR:-/tmp/swift-protobuf}
SWIFT_PROTOBUF_GIT=${SWIFT_PROTOBUF_GIT:-https://github.com/apple/swift-protobuf.git}

command -v protoc >/dev/null || {
    echo "protoc missing: apt-get install -y protobuf-compiler" >&2; exit 1; }

if [ ! -x "$PLUGIN_DIR/.build/release/protoc-gen-swift" ]; then
    [ -d "$PLUGIN_DIR" ] || git clone -q --branch "$SWIFT_PROTOBUF_VERSION" "$SWIFT_PROTOBUF_GIT" "$PLUGIN_DIR"
    (cd "$PLUGIN_DIR" && swift build -c release --product protoc-gen-swift)
fi

protoc --plugin=protoc-gen-swift="$PLUGIN_DIR/.build/release/protoc-gen-swift" \
       --swift_opt=Visibility=Public \
       --swift_out=Sources/ONNX \
       --proto_path=tools/onnx \
       tools/onnx/onnx.proto
echo "wrote Sources/ONNX/onnx.pb.swift"
