// The Frontdesk playground: GraphiQL with subscriptions over
// graphql-transport-ws, the headers editor, the documentation explorer and
// one tab per guide in docs/ holding that guide's operations.
import './workers.js';
import 'graphiql/style.css';
import './page.css';

import { GraphiQL } from 'graphiql';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { fetcher } from './fetcher.js';

// The tabs come from the server, which makes them from the guides it
// embeds, so they match docs/ without rebuilding this bundle.
fetch('/playground/tabs.json')
  .then((res) => (res.ok ? res.json() : []))
  .catch(() => [])
  .then((tabs) => {
    createRoot(document.getElementById('graphiql')).render(
      <StrictMode>
        <GraphiQL
          fetcher={fetcher}
          defaultTabs={tabs}
          defaultEditorToolsVisibility="headers"
          isHeadersEditorEnabled
          shouldPersistHeaders={false}
        />
      </StrictMode>,
    );
  });
