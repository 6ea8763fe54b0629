/**
 * A readable API page, rendered here from the OpenAPI document (no CDN, no client-side script): every operation
 * with its parameters, request body and responses as JSON Schema.
 */
import { openApiDocument } from './openapi.js';

type Json = Record<string, unknown>;

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** A documented text (summary, description), or nothing. */
const textOf = (value: unknown): string => (typeof value === 'string' ? value : '');

function schemaBlock(schema: unknown): string {
  return `<details><summary>schema</summary><pre>${escapeHtml(JSON.stringify(schema, null, 2))}</pre></details>`;
}

function operationHtml(method: string, path: string, op: Json): string {
  const anchor = `${method}-${path}`.replace(/[^a-zA-Z0-9]+/g, '-');
  const params = (op.parameters as Json[] | undefined) ?? [];
  const body = op.requestBody as { content: Record<string, { schema: unknown }> } | undefined;
  const responses = op.responses as Record<
    string,
    { description: string; content?: Record<string, { schema: unknown }> }
  >;
  const parts = [
    `<section id="${escapeHtml(anchor)}"><h3><span class="m ${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code></h3>`,
    `<p>${escapeHtml(textOf(op.summary))}</p>`,
    textOf(op.description) ? `<p class="d">${escapeHtml(textOf(op.description))}</p>` : '',
  ];
  if (params.length > 0) {
    parts.push('<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>description</th></tr>');
    for (const p of params) {
      parts.push(
        `<tr><td><code>${escapeHtml(String(p.name))}</code></td><td>${escapeHtml(String(p.in))}</td><td>${p.required ? 'yes' : 'no'}</td><td>${escapeHtml(textOf(p.description))}</td></tr>`,
      );
    }
    parts.push('</table>');
  }
  if (body) {
    parts.push('<h4>Request body</h4>');
    for (const [type, media] of Object.entries(body.content))
      parts.push(`<p><code>${escapeHtml(type)}</code></p>${schemaBlock(media.schema)}`);
  }
  parts.push('<h4>Responses</h4>');
  for (const [status, response] of Object.entries(responses)) {
    parts.push(`<p><b>${escapeHtml(status)}</b> ${escapeHtml(response.description)}</p>`);
    for (const [type, media] of Object.entries(response.content ?? {}))
      parts.push(`<p><code>${escapeHtml(type)}</code></p>${schemaBlock(media.schema)}`);
  }
  parts.push('</section>');
  return parts.join('\n');
}

let cached: string | null = null;

export function docsHtml(): string {
  if (cached) return cached;
  const doc = openApiDocument();
  const info = doc.info as { title: string; version: string; description: string };
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const tags = (doc.tags as { name: string; description: string }[]).map((t) => t.name);
  const sections: string[] = [];
  const toc: string[] = [];
  for (const tag of tags) {
    sections.push(`<h2>${escapeHtml(tag)}</h2>`);
    toc.push(`<li><b>${escapeHtml(tag)}</b><ul>`);
    for (const [path, methods] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (!(op.tags as string[]).includes(tag)) continue;
        sections.push(operationHtml(method, path, op));
        const anchor = `${method}-${path}`.replace(/[^a-zA-Z0-9]+/g, '-');
        toc.push(
          `<li><a href="#${escapeHtml(anchor)}">${escapeHtml(method.toUpperCase())} ${escapeHtml(path)}</a></li>`,
        );
      }
    }
    toc.push('</ul></li>');
  }
  cached = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(info.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5}code,pre{background:#f4f4f4;padding:0 .2rem}
pre{padding:.5rem;overflow:auto;font-size:.8rem}section{border-top:1px solid #ddd;padding-top:.5rem}.m{font-family:monospace;padding:0 .4rem;border-radius:3px;color:#fff}
.get{background:#2b7bb9}.post{background:#2f9e44}.delete{background:#c92a2a}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}.d{color:#444}</style></head>
<body><h1>${escapeHtml(info.title)} <small>${escapeHtml(info.version)}</small></h1><p>${escapeHtml(info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). GraphQL: <a href="/graphql">/graphql</a>.</p>
<nav><ul>${toc.join('')}</ul></nav>${sections.join('\n')}</body></html>`;
  return cached;
}
