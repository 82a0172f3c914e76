// Thin GraphQL clients: HTTP with fetch, subscriptions with graphql-ws over
// the ws package, as a Node frontend would use them.
import assert from 'node:assert/strict';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

export function client(base, token) {
  const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  return async function gql(query, variables = {}) {
    const res = await fetch(base + '/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = await res.json();
    return { status: res.status, ...body };
  };
}

// ok returns data after checking there are no errors and no userErrors in
// any payload.
export function ok(res) {
  assert.equal(res.errors, undefined, JSON.stringify(res.errors));
  for (const payload of Object.values(res.data ?? {})) {
    if (payload && Array.isArray(payload.userErrors)) {
      assert.deepEqual(payload.userErrors, [], JSON.stringify(payload.userErrors));
    }
  }
  return res.data;
}

export function wsClient(base, connectionParams = {}) {
  return createClient({
    url: base.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams,
    lazy: false,
    retryAttempts: 0,
  });
}

// subscribe starts a subscription and returns a queue of its events:
// next(pred) waits (bounded) for the next event that matches.
export async function subscribe(ws, query, variables) {
  const events = [];
  const waiters = [];
  let failure;
  const deliver = () => {
    for (const w of [...waiters]) {
      const i = events.findIndex(w.pred);
      if (i >= 0) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(events.splice(i, 1)[0]);
      } else if (failure) {
        waiters.splice(waiters.indexOf(w), 1);
        w.reject(failure);
      }
    }
  };
  const stop = ws.subscribe(
    { query, variables },
    {
      next: (v) => {
        events.push(v);
        deliver();
      },
      error: (e) => {
        failure = new Error('subscription failed: ' + JSON.stringify(e?.message ?? e?.reason ?? e));
        deliver();
      },
      complete: () => {
        failure ??= new Error('subscription completed');
        deliver();
      },
    },
  );
  // A barrier: the server reads one socket's messages in order and starts
  // a subscription's resolver before reading the next, so once a second
  // subscription on the same socket delivers, the first one is listening.
  await new Promise((resolve, reject) => {
    const dispose = ws.subscribe(
      { query: 'subscription Barrier { serverTime(everySeconds: 1) }' },
      { next: () => { dispose(); resolve(); }, error: reject, complete: () => {} },
    );
  });
  return {
    stop,
    next(pred = () => true, timeout = 15_000) {
      return new Promise((resolve, reject) => {
        const w = { pred, resolve, reject };
        waiters.push(w);
        deliver();
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) {
            waiters.splice(i, 1);
            reject(new Error(`no matching subscription event in ${timeout} ms; got ${JSON.stringify(events)}`));
          }
        }, timeout).unref();
      });
    },
  };
}
