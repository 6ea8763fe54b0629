/** The dashboard's HTML shell: styles inline, one module script from this server (no other host). */
const STYLE = `
:root{--fg:#1e293b;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc;--accent:#0f766e;--bad:#b91c1c;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
*{box-sizing:border-box}body{margin:0;line-height:1.45}
header{background:#0f172a;color:white;padding:.6rem 1.2rem;display:flex;gap:1.5rem;align-items:center;flex-wrap:wrap;position:sticky;top:0;z-index:5}
header h1{font-size:1.15rem;margin:0}header nav{display:flex;gap:1rem;flex-wrap:wrap}header a{color:#cbd5e1}header a:focus,header a:hover{color:white}
main{max-width:1280px;margin:0 auto;padding:1rem}
section.card{overflow-x:auto;background:white;border:1px solid var(--line);border-radius:8px;padding:1rem 1.2rem;margin-bottom:1rem}
section.card>h2{margin:0 0 .6rem;font-size:1.15rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,420px),1fr));gap:1rem;align-items:start}
.wide{grid-column:1/-1}
.row{display:flex;gap:.75rem;flex-wrap:wrap;align-items:end}
label{display:flex;flex-direction:column;gap:.15rem;font-size:.9rem;font-weight:600}
label.check{flex-direction:row;align-items:center;font-weight:400;gap:.35rem}
.help{font-weight:400;color:var(--muted);font-size:.8rem}
input,select,button,textarea{font:inherit;font-size:.9rem}
input[type=number],select,input[type=text]{padding:.3rem .4rem;border:1px solid #94a3b8;border-radius:4px;min-width:8rem}
textarea{width:100%;min-height:6rem;font-family:ui-monospace,monospace;font-size:.8rem}
button{padding:.4rem .9rem;border-radius:4px;border:1px solid var(--accent);background:var(--accent);color:white;cursor:pointer}
button.secondary{background:white;color:var(--accent)}button:disabled{opacity:.5;cursor:default}
:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
fieldset{border:1px solid var(--line);border-radius:6px;margin:.6rem 0;padding:.5rem .8rem}legend{font-weight:600}
.params{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:.6rem}
.features{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:.1rem .6rem;max-height:14rem;overflow:auto}
.leak{color:var(--bad)}
.bar{height:1.1rem;background:var(--line);border-radius:4px;overflow:hidden}.bar>div{height:100%;background:var(--accent);transition:width .15s}
table{border-collapse:collapse;width:100%;font-size:.88rem}th,td{padding:.3rem .5rem;border-bottom:1px solid var(--line);text-align:left}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tbody tr.clickable{cursor:pointer}tbody tr.clickable:hover,tbody tr.selected{background:#ecfeff}
th button{background:none;border:none;color:inherit;padding:0;font-weight:700}
.muted{color:var(--muted)}.error{color:var(--bad);font-weight:600}.warn{color:#a16207}
figure{margin:0}figcaption{font-weight:600;margin-bottom:.25rem;display:flex;justify-content:space-between;gap:.5rem}
figcaption a{font-weight:400;font-size:.8rem}
.drop{border:2px dashed #94a3b8;border-radius:6px;padding:.8rem;text-align:center;color:var(--muted)}.drop.over{border-color:var(--accent);background:#f0fdfa}
.pills{display:flex;gap:.4rem;flex-wrap:wrap}.pill{background:#f1f5f9;border-radius:99px;padding:.05rem .55rem;font-size:.8rem}
.hidden{display:none}
select{max-width:100%}
@media (max-width:600px){header{position:static}main{padding:.5rem}section.card{padding:.8rem}}
`;

export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Exoplanet Playground — dashboard</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>Exoplanet Playground</h1>
  <nav aria-label="Sections">
    <a href="#train">Train</a><a href="#live">Live</a><a href="#results">Results</a><a href="#history">History</a><a href="#use">Use the model</a><a href="/graphql">GraphiQL</a>
  </nav>
</header>
<main id="app"><p class="muted">Loading the dashboard…</p></main>
<noscript>The dashboard needs JavaScript. The API is at <a href="/graphql">/graphql</a>.</noscript>
<script type="module" src="/app/dashboard.js"></script>
</body>
</html>
`;
}
