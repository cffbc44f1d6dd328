.PHONY: proto
# proto regenerates the Go code of the .proto files under proto/.
proto:
	scripts/gen-proto.sh
