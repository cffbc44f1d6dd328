package contract

import (
	"context"
	"reflect"
	"testing"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
	apiv1 "github.com/hangar-mq/hangar/proto/api/v1"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// TestAPIFamilyContract keeps hangar.api.v1 and core/jsapi describing the
// same thing: the Host service is jsapi.Host method for method, an
// Endpoint carries jsapi.Endpoint's data, a HandleRequest carries every
// data field of jsapi.Request, and Error is jserr.APIError.
func TestAPIFamilyContract(t *testing.T) {
	fd := apiv1.File_api_v1_api_proto
	host := fd.Services().ByName("Host")
	if host == nil {
		t.Fatal("no Host service")
	}
	hostIface := reflect.TypeFor[jsapi.Host]()
	if host.Methods().Len() != hostIface.NumMethod() {
		t.Errorf("Host service has %d methods, jsapi.Host %d", host.Methods().Len(), hostIface.NumMethod())
	}
	for i := range hostIface.NumMethod() {
		m := hostIface.Method(i)
		if host.Methods().ByName(protoreflect.Name(m.Name)) == nil {
			t.Errorf("jsapi.Host.%s has no Host RPC", m.Name)
		}
		if m.Type.In(0) != reflect.TypeFor[context.Context]() {
			t.Errorf("jsapi.Host.%s does not take a context first", m.Name)
		}
	}
	fam := fd.Services().ByName("Family")
	for _, name := range []string{"Setup", "Describe", "Handle"} {
		if fam == nil || fam.Methods().ByName(protoreflect.Name(name)) == nil {
			t.Errorf("Family service lacks %s", name)
		}
	}
	for _, svc := range []protoreflect.ServiceDescriptor{host, fam} {
		for i := range svc.Methods().Len() {
			md := svc.Methods().Get(i)
			if f := md.Output().Fields().ByNumber(1); f == nil || f.Name() != "error" || f.Message().Name() != "Error" {
				t.Errorf("%s.%s: response lacks `Error error = 1`", svc.Name(), md.Name())
			}
		}
	}
	msgs := fd.Messages()
	cases := []struct {
		goType  reflect.Type
		message string
		renames map[string]string // Go field -> proto field
		skip    map[string]bool   // Go fields that do not travel (callbacks)
		extra   []string          // proto fields with no Go field
	}{
		{reflect.TypeFor[jsapi.Endpoint](), "Endpoint", nil, map[string]bool{"Handle": true}, nil},
		{reflect.TypeFor[jsapi.Request](), "HandleRequest", map[string]string{"Client": "client_info"},
			map[string]bool{"Respond": true, "Publish": true}, []string{"pattern"}},
		{reflect.TypeFor[jserr.APIError](), "Error", nil, nil, nil},
	}
	for _, tc := range cases {
		md := msgs.ByName(protoreflect.Name(tc.message))
		if md == nil {
			t.Errorf("no message %s", tc.message)
			continue
		}
		want := map[string]bool{}
		for _, e := range tc.extra {
			want[e] = true
		}
		for i := range tc.goType.NumField() {
			f := tc.goType.Field(i)
			if tc.skip[f.Name] {
				continue
			}
			name := snake(f.Name)
			if r, ok := tc.renames[f.Name]; ok {
				name = r
			}
			want[name] = true
			if md.Fields().ByName(protoreflect.Name(name)) == nil {
				t.Errorf("Go %s.%s has no proto field %s.%s", tc.goType.Name(), f.Name, tc.message, name)
			}
		}
		for i := range md.Fields().Len() {
			if name := string(md.Fields().Get(i).Name()); !want[name] {
				t.Errorf("proto %s.%s has no Go field", tc.message, name)
			}
		}
	}
}
