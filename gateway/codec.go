package main

import (
	"connectrpc.com/connect"
	"connectrpc.com/vanguard"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// callerJSON is vanguard's JSON codec with two changes:
//   - decoding errors are the caller's: INVALID_ARGUMENT (HTTP 400). vanguard v0.4.0 passes a
//     codec's plain error on as INTERNAL (HTTP 500), blaming the node for a malformed body;
//   - zero scalars and empty lists are written (as proto3 JSON allows), unset messages are
//     left out instead of written as null, which the OpenAPI schemas (and clients) reject.
type callerJSON struct{ *vanguard.JSONCodec }

func newCallerJSON(res vanguard.TypeResolver) vanguard.Codec {
	codec := vanguard.NewJSONCodec(res)
	codec.MarshalOptions.EmitUnpopulated = false
	codec.MarshalOptions.EmitDefaultValues = true
	return callerJSON{codec}
}

func (c callerJSON) Unmarshal(data []byte, msg proto.Message) error {
	if err := c.JSONCodec.Unmarshal(data, msg); err != nil {
		return connect.NewError(connect.CodeInvalidArgument, err)
	}
	return nil
}

func (c callerJSON) UnmarshalField(data []byte, msg proto.Message, field protoreflect.FieldDescriptor) error {
	if err := c.JSONCodec.UnmarshalField(data, msg, field); err != nil {
		return connect.NewError(connect.CodeInvalidArgument, err)
	}
	return nil
}
