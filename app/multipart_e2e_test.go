package app_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// uploadBody is a GraphQL multipart request (boundary "adversarial") with
// the given operations and map parts and, after them, the given files:
// name, then content.
func uploadBody(operations, mapPart string, files ...string) string {
	var b strings.Builder
	part := func(name, filename, content string) {
		fmt.Fprintf(&b, "--adversarial\r\nContent-Disposition: form-data; name=%q", name)
		if filename != "" {
			fmt.Fprintf(&b, "; filename=%q\r\nContent-Type: application/octet-stream", filename)
		}
		fmt.Fprintf(&b, "\r\n\r\n%s\r\n", content)
	}
	part("operations", "", operations)
	part("map", "", mapPart)
	for i := 0; i+1 < len(files); i += 2 {
		part(files[i], files[i]+".bin", files[i+1])
	}
	b.WriteString("--adversarial--\r\n")
	return b.String()
}

// multipartSet is the adversarial set for uploads (the GraphQL multipart
// request spec): the request may be as large as FRONTDESK_MAX_UPLOAD_BYTES
// (20 MiB), so its operations and map parts, which gqlgen decodes before
// any limit looks at them, must have the budget of a JSON body instead.
func multipartSet() []adversarial {
	const mib = 1 << 20
	hugeMap := `{"0": [` + strings.TrimSuffix(repeat(`"variables.f",`, 19*mib/14), ",") + `]}`
	manyPaths := `{"0": [` + strings.TrimSuffix(repeat(`"variables.f",`, 60000), ",") + `]}`
	fileOps := gqlBody("query($f: [Upload]) { __typename }", map[string]any{"f": make([]any, 3000)})
	fewFileOps := gqlBody("query($f: [Upload]) { __typename }", map[string]any{"f": make([]any, 100)})
	var fileMap strings.Builder
	var files []string
	var fewFileMap strings.Builder
	fewFileMap.WriteString("{")
	fileMap.WriteString("{")
	for i := range 3000 {
		if i < 100 {
			if i > 0 {
				fewFileMap.WriteString(",")
			}
			fmt.Fprintf(&fewFileMap, `"%d":["variables.f.%d"]`, i, i)
		}
		if i > 0 {
			fileMap.WriteString(",")
		}
		fmt.Fprintf(&fileMap, `"%d":["variables.f.%d"]`, i, i)
		files = append(files, fmt.Sprint(i), "x")
	}
	fileMap.WriteString("}")
	fewFileMap.WriteString("}")
	return []adversarial{
		{"multipart: 19 MiB operations part (a comment)", "UPLOAD", uploadBody(gqlBody("#"+repeat("x", 19*mib)+"\n{ __typename }", nil), "{}"), "REQUEST_TOO_LARGE"},
		{"multipart: 2,000,000 numbers in the operations part (4 MB)", "UPLOAD", uploadBody(`{"query":"query($ids: [ID!]!) { nodes(ids: $ids) { id } }","variables":{"ids":[`+repeat("1,", 2000000)+`1]}}`, "{}"), "REQUEST_TOO_LARGE"},
		{"multipart: 450,000 numbers in the operations part (900 KB)", "UPLOAD", uploadBody(`{"query":"query($ids: [ID!]!) { nodes(ids: $ids) { id } }","variables":{"ids":[`+repeat("1,", 450000)+`1]}}`, "{}"), "VARIABLE_LIMIT_EXCEEDED"},
		{"multipart: 19 MiB map part", "UPLOAD", uploadBody(gqlBody("{ __typename }", nil), hugeMap), "REQUEST_TOO_LARGE"},
		{"multipart: 60,000 paths in the map part", "UPLOAD", uploadBody(gqlBody("{ __typename }", nil), manyPaths), "VARIABLE_LIMIT_EXCEEDED"},
		{"multipart: 10,000 repeated __typename, then a 19 MiB file", "UPLOAD", uploadBody(gqlBody("{ "+repeat("__typename ", 10000)+"}", nil), `{"0": ["variables.f"]}`, "0", repeat("x", 19*mib)), "FIELD_LIMIT_EXCEEDED"},
		{"multipart: 900 KB comment in the operations part (within the budget)", "UPLOAD", uploadBody(gqlBody("#"+repeat("x", 900<<10)+"\n{ __typename }", nil), "{}"), ""},
		{"multipart: 3,000 one-byte files", "UPLOAD", uploadBody(fileOps, fileMap.String(), files...), "VARIABLE_LIMIT_EXCEEDED"},
		{"multipart: 100 one-byte files (at the file limit)", "UPLOAD", uploadBody(fewFileOps, fewFileMap.String(), files[:200]...), "GRAPHQL_VALIDATION_FAILED"},
		{"multipart: map path out of the variables (gqlgen panicked)", "UPLOAD", uploadBody(fewFileOps, `{"0": ["variables.f.100000"]}`, "0", "x"), "BAD_USER_INPUT"},
		{"multipart: map path into no variables (gqlgen panicked)", "UPLOAD", uploadBody(gqlBody("{ __typename }", nil), `{"0": ["variables.f"]}`, "0", "x"), "BAD_USER_INPUT"},
	}
}

// TestMultipartDocumentRefusedBeforeFiles: a document over the limits is
// refused as soon as its operations part has arrived, while the file
// part is still being sent; gqlgen alone reads every file before it
// measures the document.
func TestMultipartDocumentRefusedBeforeFiles(t *testing.T) {
	base := startCost(t, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := uploadBody(gqlBody("{ "+repeat("__typename ", 10000)+"}", nil), `{"0": ["variables.f"]}`)
	head = strings.TrimSuffix(head, "--adversarial--\r\n") +
		"--adversarial\r\nContent-Disposition: form-data; name=\"0\"; filename=\"big.bin\"\r\n\r\n" + repeat("x", 64<<10)
	// The request declares 10 MiB and sends the start of the file only.
	_, err = fmt.Fprintf(conn, "POST /graphql HTTP/1.1\r\nHost: x\r\nGraphQL-Preflight: 1\r\nContent-Type: multipart/form-data; boundary=adversarial\r\nContent-Length: %d\r\n\r\n%s", 10<<20, head)
	if err != nil {
		t.Fatal(err)
	}
	must(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer while the file was still on its way: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(raw), "FIELD_LIMIT_EXCEEDED") {
		t.Fatalf("status %d: %.300s", resp.StatusCode, raw)
	}
}

// TestMultipartTextPartsHaveTheJSONBudget: the operations and map parts
// together get FRONTDESK_MAX_BODY_BYTES, however large the upload limit;
// a request within it, file included, still reaches the resolvers.
func TestMultipartTextPartsHaveTheJSONBudget(t *testing.T) {
	s := start(t, nil)
	admin, productID := s.catalogAdmin(t)
	for _, tc := range []struct {
		name, ops, mapPart, want string
	}{
		{"operations over the body limit", gqlBody("#"+repeat("x", 2<<20)+"\n{ __typename }", nil), "{}", "REQUEST_TOO_LARGE"},
		{"map over what the operations left", gqlBody("#"+repeat("x", 600<<10)+"\n{ __typename }", nil), `{"0": [` + strings.TrimSuffix(repeat(`"variables.f",`, 40000), ",") + `]}`, "REQUEST_TOO_LARGE"},
		{"document over the field limit", gqlBody("{ "+repeat("__typename ", 1000)+"}", nil), "{}", "FIELD_LIMIT_EXCEEDED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, s.base+"/graphql", strings.NewReader(uploadBody(tc.ops, tc.mapPart)))
			must(t, err)
			req.Header.Set("Content-Type", "multipart/form-data; boundary=adversarial")
			req.Header.Set("GraphQL-Preflight", "1")
			r := do(t, req)
			if c := r.codes(); len(c) == 0 || c[0] != tc.want {
				t.Fatalf("want %s, got %v (status %d)", tc.want, c, r.status)
			}
		})
	}
	// An upload within the budget works as before.
	r := s.upload(t, admin.token, productID, "Tea tin", "tin.png", "image/png", pngBytes(t, 40, 30))
	if codes := userErrorCodes(r, "uploadProductImage.userErrors"); len(r.Errors) > 0 || len(codes) > 0 {
		t.Fatalf("upload: %+v %v", r.Errors, codes)
	}
}
