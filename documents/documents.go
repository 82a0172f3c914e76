// Package documents keeps trusted documents: the GraphQL operations a
// client was built with, registered ahead of time from the
// persisted-operation manifest its build produced (Relay's
// `{"<id>": "<document>"}` or Apollo's persisted query list), so the
// client sends only a document id and a server that requires trusted
// documents runs nothing else from public clients.
//
// Requests name a document the way the GraphQL-over-HTTP trusted
// documents convention does: `documentId` beside `variables` in a POST
// body, or `?documentId=` on a GET (which a CDN can cache). Over a
// WebSocket, where gqlgen decodes the payload itself, it goes in
// `extensions.documentId`.
package documents

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"

	"frontdesk/ent"
	"frontdesk/ent/trusteddocument"
	"frontdesk/errcode"
	"frontdesk/identity"
)

// Mode is FRONTDESK_TRUSTED_DOCUMENTS.
type Mode string

// Modes.
const (
	// Off refuses document ids; any document runs.
	Off Mode = "off"
	// Allow serves document ids; any document still runs.
	Allow Mode = "allow"
	// Require makes public clients (anonymous and customers) send a
	// document id outside development.
	Require Mode = "require"
)

// Codes of the errors a request gets.
const (
	// CodeNotFound: the document id is not registered.
	CodeNotFound errcode.Code = "PERSISTED_DOCUMENT_NOT_FOUND"
	// CodeRequired: the server runs only trusted documents for this
	// caller, and the request sent a document instead of an id.
	CodeRequired errcode.Code = "TRUSTED_DOCUMENT_REQUIRED"
)

// Document is one entry of a manifest.
type Document struct {
	ID   string
	Name string
	Body string
}

// apolloManifest is Apollo's persisted query list
// (@apollo/generate-persisted-query-manifest).
type apolloManifest struct {
	Format     string `json:"format"`
	Version    int    `json:"version"`
	Operations []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Type string `json:"type"`
		Body string `json:"body"`
	} `json:"operations"`
}

// ParseManifest reads a Relay (`{"id": "document"}`) or Apollo
// (`{"format": "apollo-persisted-query-manifest", "version": 1,
// "operations": [{"id", "name", "type", "body"}]}`) manifest.
func ParseManifest(data []byte) ([]Document, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("manifest: not a JSON object: %w", err)
	}
	var out []Document
	if _, ok := probe["format"]; ok {
		var m apolloManifest
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
		if m.Format != "apollo-persisted-query-manifest" || m.Version != 1 {
			return nil, fmt.Errorf("manifest: unsupported format %q version %d (want apollo-persisted-query-manifest, 1)", m.Format, m.Version)
		}
		for _, op := range m.Operations {
			out = append(out, Document{ID: op.ID, Name: op.Name, Body: op.Body})
		}
	} else {
		for id, raw := range probe {
			var body string
			if err := json.Unmarshal(raw, &body); err != nil {
				return nil, fmt.Errorf("manifest: the value of %q is not a document string", id)
			}
			out = append(out, Document{ID: id, Body: body})
		}
	}
	for _, d := range out {
		switch {
		case !validID(d.ID):
			return nil, fmt.Errorf("manifest: document ids must be 1 to 150 characters without spaces or control characters: %q", d.ID)
		case strings.TrimSpace(d.Body) == "":
			return nil, fmt.Errorf("manifest: document %q is empty", d.ID)
		case len(d.Body) > 100000:
			return nil, fmt.Errorf("manifest: document %q is longer than 100000 characters", d.ID)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("manifest: no documents")
	}
	return out, nil
}

// Store registers and finds documents, caching found ones in process
// (documents never change once registered, so the cache needs no
// invalidation; it is capped by count and size).
type Store struct {
	client *ent.Client
	mu     sync.Mutex
	cache  map[string]string
	bytes  int
}

// cacheBytes caps the in-process cache.
const cacheBytes = 8 << 20

// NewStore returns a store.
func NewStore(client *ent.Client) *Store { return &Store{client: client, cache: map[string]string{}} }

// Register adds a client's documents, idempotently: a document already
// registered under the same id with the same body is kept, one with a
// different body is a conflict and nothing is registered. It returns how
// many were new. Admin tools (the CLI) call it with the system viewer;
// the admin mutation needs MANAGE_SETTINGS.
func (s *Store) Register(ctx context.Context, clientName string, docs []Document) (int, error) {
	if _, err := identity.Require(ctx, identity.ManageSettings); err != nil {
		return 0, err
	}
	clientName = strings.TrimSpace(clientName)
	if clientName == "" || len(clientName) > 100 {
		return 0, errcode.Invalidf(errcode.Invalid, "client", "the client name must be 1 to 100 characters")
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	tx, err := s.client.Tx(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	added, err := register(ctx, tx, clientName, docs, ids)
	if err != nil {
		return 0, errors.Join(err, tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	return added, nil
}

func register(ctx context.Context, tx *ent.Tx, clientName string, docs []Document, ids []string) (int, error) {
	existing := map[string][]*ent.TrustedDocument{}
	for start := 0; start < len(ids); start += 500 {
		rows, err := tx.TrustedDocument.Query().Where(trusteddocument.DocumentIDIn(ids[start:min(start+500, len(ids))]...)).All(ctx)
		if err != nil {
			return 0, fmt.Errorf("read trusted documents: %w", err)
		}
		for _, r := range rows {
			existing[r.DocumentID] = append(existing[r.DocumentID], r)
		}
	}
	var creates []*ent.TrustedDocumentCreate
	for _, d := range docs {
		mine := false
		for _, r := range existing[d.ID] {
			if r.Body != d.Body {
				return 0, errcode.Invalidf(errcode.Conflict, "manifest",
					fmt.Sprintf("document id %q is registered with a different document (client %s)", d.ID, r.Client))
			}
			mine = mine || r.Client == clientName
		}
		if !mine {
			creates = append(creates, tx.TrustedDocument.Create().SetClient(clientName).SetDocumentID(d.ID).SetBody(d.Body).SetOperationName(d.Name))
			existing[d.ID] = append(existing[d.ID], &ent.TrustedDocument{Client: clientName, DocumentID: d.ID, Body: d.Body})
		}
	}
	for start := 0; start < len(creates); start += 200 {
		if err := tx.TrustedDocument.CreateBulk(creates[start:min(start+200, len(creates))]...).Exec(ctx); err != nil {
			return 0, fmt.Errorf("register trusted documents: %w", err)
		}
	}
	return len(creates), nil
}

// Lookup returns the document registered under id.
func (s *Store) Lookup(ctx context.Context, id string) (string, bool, error) {
	s.mu.Lock()
	body, ok := s.cache[id]
	s.mu.Unlock()
	if ok {
		return body, true, nil
	}
	if !validID(id) {
		return "", false, nil
	}
	d, err := s.client.TrustedDocument.Query().Where(trusteddocument.DocumentID(id)).First(ctx)
	if ent.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("look up trusted document: %w", err)
	}
	s.mu.Lock()
	if s.bytes+len(d.Body) <= cacheBytes {
		s.cache[id] = d.Body
		s.bytes += len(d.Body)
	}
	s.mu.Unlock()
	return d.Body, true, nil
}

// validID reports whether id can name a document: 1 to 150 bytes with no
// white space or control characters. Ids are hashes or names a build tool
// chose; white space is never one, and MariaDB compares strings with
// trailing spaces ignored ("a1 " would find "a1" there and not on
// SQLite), so refusing it keeps one id one document on both databases.
func validID(id string) bool {
	if id == "" || len(id) > 150 {
		return false
	}
	return !strings.ContainsFunc(id, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// requestBody is what the HTTP hook needs of a POST body.
type requestBody map[string]json.RawMessage

// rewrite moves a top-level documentId of a JSON POST body into
// extensions.documentId, where gqlgen passes it on to the extension; a
// body with no query whose extensions.persistedQuery.sha256Hash is a
// trusted document's id (trusted says which) is turned into that
// documentId the same way. It returns body unchanged otherwise.
func rewrite(body []byte, trusted func(id string) bool) ([]byte, error) {
	hasID, hasPQ := bytes.Contains(body, []byte(`"documentId"`)), bytes.Contains(body, []byte(`"persistedQuery"`))
	if !hasID && !hasPQ {
		return body, nil
	}
	var m requestBody
	if err := json.Unmarshal(body, &m); err != nil {
		return body, nil // gqlgen reports the malformed body
	}
	ext := map[string]json.RawMessage{}
	if e, ok := m["extensions"]; ok && string(e) != "null" {
		if err := json.Unmarshal(e, &ext); err != nil {
			return body, nil
		}
	}
	raw, ok := m["documentId"]
	if !ok {
		// Apollo's persisted query link: a hash and no query.
		var q string
		if qr, has := m["query"]; has && json.Unmarshal(qr, &q) == nil && q != "" {
			return body, nil
		}
		var pq struct {
			Hash string `json:"sha256Hash"`
		}
		if p, has := ext["persistedQuery"]; !has || json.Unmarshal(p, &pq) != nil || trusted == nil || !trusted(pq.Hash) {
			return body, nil
		}
		raw, _ = json.Marshal(pq.Hash)
		delete(ext, "persistedQuery")
		delete(m, "query")
	}
	ext["documentId"] = raw
	delete(m, "documentId")
	b, err := json.Marshal(ext)
	if err != nil {
		return nil, err
	}
	m["extensions"] = b
	return json.Marshal(m)
}

// RegisterManifest parses a manifest and registers it; it returns how
// many documents were new and how many the manifest held. A malformed
// manifest is a user error on "manifest".
func (s *Store) RegisterManifest(ctx context.Context, clientName string, manifest []byte) (added, total int, err error) {
	docs, err := ParseManifest(manifest)
	if err != nil {
		if _, perr := identity.Require(ctx, identity.ManageSettings); perr != nil {
			return 0, 0, perr
		}
		return 0, 0, errcode.Invalidf(errcode.Invalid, "manifest", err.Error())
	}
	added, err = s.Register(ctx, clientName, docs)
	return added, len(docs), err
}
