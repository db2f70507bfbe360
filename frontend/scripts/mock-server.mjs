// A throwaway stand-in for the Django API, for looking at the UI without the backend:
//   npm run build && node scripts/mock-server.mjs [port]   → http://127.0.0.1:8787/campaigns/1/work
// Serves dist/ under /static/app/, index.html for SPA routes, and an in-memory API.
// Set MOCK_VIDEO=/path/to/video.mp4 to serve a real video at /media/v.mp4.
import { createServer } from 'node:http';
import { readFileSync, existsSync, statSync, createReadStream } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'dist');
const port = Number(process.argv[2] ?? 8787);
const types = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html', '.svg': 'image/svg+xml' };
const lvl = (g, n, b) => [
  { value: 'Good', criteria: g },
  { value: 'Normal', criteria: n },
  { value: 'Bad', criteria: b },
];
const campaign = {
  id: 1,
  name: 'LiFT-HRA pilot',
  guidelines:
    '# How to rate\n\nRate each dimension **on its own**.\n\n- Semantic: does the video show the text?\n- Motion: is it smooth?\n- Fidelity: artifacts, hands, faces.\n\n<script>alert("this must show as text")</script>',
  schema: {
    dimensions: [
      { key: 'semantic', label: 'Semantic consistency', question: 'Does the video match the prompt?', levels: lvl('Matches the text fully.', 'Small mismatches; meaning still clear.', 'Largely inconsistent: wrong subject, count, colour, scene, style or action.') },
      { key: 'motion', label: 'Motion smoothness', question: 'Is the motion fluid and natural?', levels: lvl('Fluid, natural motion.', 'Slight irregularities or mild jitter.', 'Choppy, erratic, frame drops, physically implausible.') },
      { key: 'fidelity', label: 'Video fidelity', question: 'Is the picture clean and well formed?', levels: lvl('High quality, few artifacts.', 'Some artifacts, blur or colour errors.', 'Severe blur or artifacts, deformed hands/faces/limbs.') },
    ],
  },
  rationale_policy: 'unless_good',
  lease_seconds: 300,
  overlap: 3,
  progress: { done: 12, skipped: 1, remaining: 37 },
};
let nextId = 100;
let current = null;
const makeTask = () => {
  const now = Date.now();
  return {
    id: nextId++,
    campaign: 1,
    state: 'leased',
    leased_at: new Date(now).toISOString(),
    expires_at: new Date(now + campaign.lease_seconds * 1000).toISOString(),
    lease_seconds: campaign.lease_seconds,
    video: { id: 1, url: '/media/v.mp4', poster_url: null, width: 720, height: 480, fps: 8, frames: 48, duration: 6 },
    prompt: {
      text: 'Two corgis <b>surfing</b> in a teacup',
      caption:
        'Two fluffy corgis balance on tiny surfboards inside a giant porcelain teacup, waves of tea splashing around them under warm afternoon light; the camera slowly circles the cup as steam rises.',
    },
    prefetch_url: '/media/v.mp4?next',
  };
};
const send = (res, status, body) => {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(body === undefined ? '' : JSON.stringify(body));
};

/** The JSON body of a request ({} when there is none or it is not JSON). */
const body = (req) =>
  new Promise((resolve) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      try {
        resolve(JSON.parse(text || '{}'));
      } catch {
        resolve({});
      }
    });
  });

createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  if (p === '/api/auth/csrf/') {
    res.setHeader('Set-Cookie', 'csrftoken=mock; Path=/');
    return send(res, 200, {});
  }
  if (p === '/api/auth/me/' || p === '/api/auth/login/') return send(res, 200, { id: 1, username: 'ann', roles: ['annotator'] });
  if (p === '/api/auth/logout/') return send(res, 204);
  if (p === '/api/campaigns/') return send(res, 200, [campaign, { ...campaign, id: 2, name: 'Finished batch', progress: { done: 50, skipped: 0, remaining: 0 } }]);
  if (p === '/api/campaigns/1/') return send(res, 200, campaign);
  if (p === '/api/campaigns/1/next-task/') return send(res, 200, (current ??= makeTask()));
  if (/submit\/$/.test(p) || /skip\/$/.test(p)) {
    current = null;
    const annotation = { id: 1, assignment: 1, ratings: {}, time_spent_ms: 0, created_at: new Date().toISOString() };
    // submit?next=1 answers with the next lease as the real server does.
    if (/submit/.test(p) && (url.searchParams.get('next') === '1' || (await body(req)).next === true))
      return send(res, 201, { annotation, next: (current = makeTask()), next_state: 'leased' });
    return send(res, /submit/.test(p) ? 201 : 200, annotation);
  }
  if (/extend\/$/.test(p)) return send(res, 200, { expires_at: new Date(Date.now() + campaign.lease_seconds * 1000).toISOString() });
  if (p.startsWith('/media/')) {
    const file = process.env.MOCK_VIDEO;
    if (!file || !existsSync(file)) return send(res, 404, { detail: 'No video', code: 'not_found' });
    res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': statSync(file).size });
    return createReadStream(file).pipe(res);
  }
  if (p.startsWith('/static/app/')) {
    const f = normalize(join(root, p.slice('/static/app/'.length)));
    if (f.startsWith(root) && existsSync(f) && statSync(f).isFile()) {
      res.writeHead(200, { 'Content-Type': types[extname(f)] ?? 'application/octet-stream' });
      return res.end(readFileSync(f));
    }
    return send(res, 404, { detail: 'Not found' });
  }
  res.writeHead(200, { 'Content-Type': 'text/html' });
  res.end(readFileSync(join(root, 'index.html')));
}).listen(port, '127.0.0.1', () => console.log(`mock LiFT API on http://127.0.0.1:${port}/`));
