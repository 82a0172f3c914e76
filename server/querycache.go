package server

import (
	"container/list"
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// queryCache is gqlgen's parsed-query cache with a cap in bytes rather
// than in entries: gqlgen's own LRU holds 1000 documents of any size, and
// documents as large as the body limit each cost tens of megabytes once
// parsed. gqlgen adds only documents that passed the document limits and
// validation, so refused documents never take space here.
type queryCache struct {
	maxBytes int64

	mu    sync.Mutex
	bytes int64
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type queryCacheEntry struct {
	query string
	doc   *ast.QueryDocument
	cost  int64
}

var _ graphql.Cache[*ast.QueryDocument] = (*queryCache)(nil)

// parsedBytesPerByte estimates the memory of a parsed document from its
// length: the AST (positions, selection sets, argument values) measured
// on documents from docs/ and on the adversarial set came to 20-60 bytes
// per byte of query text; the key (the text itself) adds one.
const parsedBytesPerByte = 64

func newQueryCache(maxBytes int64) *queryCache {
	return &queryCache{maxBytes: maxBytes, order: list.New(), items: map[string]*list.Element{}}
}

func (c *queryCache) Get(_ context.Context, query string) (*ast.QueryDocument, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[query]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*queryCacheEntry).doc, true
}

func (c *queryCache) Add(_ context.Context, query string, doc *ast.QueryDocument) {
	cost := int64(len(query)) * (parsedBytesPerByte + 1)
	if cost > c.maxBytes/4 {
		// One document must not push out most of the others.
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[query]; ok {
		c.order.MoveToFront(el)
		return
	}
	c.items[query] = c.order.PushFront(&queryCacheEntry{query: query, doc: doc, cost: cost})
	c.bytes += cost
	for c.bytes > c.maxBytes {
		last := c.order.Back()
		e := last.Value.(*queryCacheEntry)
		c.order.Remove(last)
		delete(c.items, e.query)
		c.bytes -= e.cost
	}
}

// Size reports the number of documents and their estimated bytes.
func (c *queryCache) Size() (docs int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items), c.bytes
}
