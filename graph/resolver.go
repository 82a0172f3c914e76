// Package graph holds the GraphQL layer: thin resolvers over the domain
// packages, the error presenter, request limits and gqlgen's generated
// executor. Business rules never live here.
package graph

import (
	"frontdesk/booking"
	"frontdesk/calendarsync"
	"frontdesk/catalog"
	"frontdesk/commerce"
	"frontdesk/documents"
	"frontdesk/ehrsync"
	"frontdesk/ent"
	"frontdesk/events"
	"frontdesk/identity"
	"frontdesk/webhooks"
)

//go:generate go tool gqlgen generate

// Resolver is the root resolver. It carries the process-wide dependencies
// that resolvers hand to domain functions.
type Resolver struct {
	// Client serves node/nodes (ent's Noder) and the job and message
	// reads, whose owners (outbox, notify) are functions over a client;
	// every other read goes through a domain service below.
	Client *ent.Client
	// Events is the bus subscriptions listen on (package events).
	Events events.Bus
	// Booking is the appointment book (package booking).
	Booking *booking.Engine
	// Catalog is the shop's catalog (package catalog).
	Catalog *catalog.Service
	// Calendar and EHR are the sync integrations (packages calendarsync
	// and ehrsync).
	Calendar *calendarsync.Sync
	EHR      *ehrsync.Sync
	// Identity runs accounts, sessions and API keys.
	Identity *identity.Service
	// Commerce runs carts, checkout and orders (package commerce).
	Commerce *commerce.Service
	// Webhooks manages outgoing webhook endpoints (package webhooks).
	Webhooks *webhooks.Service
	// Documents holds the trusted documents (package documents).
	Documents *documents.Store
}
