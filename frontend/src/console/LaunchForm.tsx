// The launch form of a job kind: fields from jobForms, checked before sending, server 4xx shown per field.
import { useState } from 'react';
import { ApiError, fieldMessages, type Campaign } from '../api';
import { navigate } from '../router';
import { consoleApi, type ModelVersion, type Snapshot } from './consoleApi';
import { buildParams, initialValues, JOB_KINDS, kindSpec, serverFieldErrors, type FieldSpec, type FormValues } from './jobForms';
import { ErrorText, useLoad } from './ui';

interface Choices {
  versions: ModelVersion[];
  campaigns: Campaign[];
  snapshots: Snapshot[];
}

async function loadChoices(): Promise<Choices> {
  const [versions, campaigns, snapshots] = await Promise.all([
    consoleApi.models(),
    consoleApi.campaigns(),
    consoleApi.snapshots(),
  ]);
  return { versions, campaigns, snapshots };
}

export function LaunchForm({ initialKind }: { initialKind: string | null }) {
  const [kind, setKind] = useState(kindSpec(initialKind ?? '')?.kind ?? 'generate');
  const spec = kindSpec(kind)!;
  const [values, setValues] = useState<FormValues>(() => initialValues(spec));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [serverError, setServerError] = useState<unknown>(null);
  const [sending, setSending] = useState(false);
  const choices = useLoad(loadChoices, 'choices');

  function chooseKind(next: string) {
    setKind(next);
    setValues(initialValues(kindSpec(next)!));
    setErrors({});
    setServerError(null);
  }

  async function launch(e: React.FormEvent) {
    e.preventDefault();
    const { params, errors: found } = buildParams(spec, values);
    setErrors(found);
    setServerError(null);
    if (Object.keys(found).length) return;
    setSending(true);
    try {
      let jobId: number | null;
      if (kind === 'snapshot') {
        // Through the snapshots API, so the numbered snapshot row exists from the start.
        const { filters, ...rest } = params as { filters?: Record<string, unknown> };
        jobId = (await consoleApi.requestSnapshot({ ...(filters ?? {}), ...rest })).job_id;
      } else jobId = (await consoleApi.launchJob(kind, params)).id;
      navigate(jobId ? `/console/jobs/${jobId}` : '/console/snapshots');
    } catch (err) {
      setServerError(err);
      if (err instanceof ApiError) setErrors(serverFieldErrors(spec, fieldMessages(err.fields)));
    } finally {
      setSending(false);
    }
  }

  return (
    <form className="card launch-form" onSubmit={launch} noValidate data-testid="launch-form" data-kind={kind}>
      <h2>Launch a job</h2>
      <label htmlFor="launch-kind">Kind</label>
      <select id="launch-kind" data-testid="launch-kind" value={kind} onChange={(e) => chooseKind(e.target.value)}>
        {JOB_KINDS.map((k) => (
          <option key={k.kind} value={k.kind}>
            {k.label} ({k.kind})
          </option>
        ))}
      </select>
      <p className="muted small">{spec.description}</p>
      {spec.fields.map((f) => (
        <Field
          key={`${kind}-${f.name}`}
          field={f}
          value={values[f.name]}
          error={errors[f.name]}
          choices={choices.data}
          onChange={(v) => setValues((old) => ({ ...old, [f.name]: v }))}
        />
      ))}
      <ErrorText error={serverError} testId="launch-error" />
      <div className="row">
        <button type="submit" className="primary" disabled={sending} data-testid="launch-submit">
          {sending ? 'Launching…' : 'Launch'}
        </button>
      </div>
    </form>
  );
}

function Field({
  field,
  value,
  error,
  choices,
  onChange,
}: {
  field: FieldSpec;
  value: string | boolean | undefined;
  error?: string;
  choices: Choices | null;
  onChange: (v: string | boolean) => void;
}) {
  const id = `launch-${field.name}`;
  const common = { id, 'data-testid': id, 'aria-invalid': !!error, 'aria-describedby': error ? `${id}-error` : undefined };
  let input: React.ReactNode;
  if (field.type === 'bool')
    input = <input type="checkbox" {...common} checked={value === true} onChange={(e) => onChange(e.target.checked)} />;
  else if (field.type === 'choice')
    input = (
      <select {...common} value={String(value ?? '')} onChange={(e) => onChange(e.target.value)}>
        {field.choices!.map((c) => (
          <option key={c}>{c}</option>
        ))}
      </select>
    );
  else if (['generator', 'critic', 'campaign', 'snapshot'].includes(field.type))
    input = (
      <select {...common} value={String(value ?? '')} onChange={(e) => onChange(e.target.value)}>
        <option value="">{field.required ? 'Choose…' : '—'}</option>
        {pickerOptions(field, choices).map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    );
  else if (field.name === 'extra')
    input = <textarea {...common} rows={3} value={String(value ?? '')} onChange={(e) => onChange(e.target.value)} />;
  else input = <input {...common} value={String(value ?? '')} onChange={(e) => onChange(e.target.value)} />;
  return (
    <div className={`form-field${field.type === 'bool' ? ' is-check' : ''}`}>
      <label htmlFor={id}>
        {field.label}
        {field.required && ' *'}
      </label>
      {input}
      {field.help && <p className="muted small">{field.help}</p>}
      {error && (
        <p className="field-error" id={`${id}-error`} data-testid={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

function pickerOptions(field: FieldSpec, choices: Choices | null): { value: string; label: string }[] {
  if (!choices) return [];
  if (field.type === 'generator' || field.type === 'critic')
    return choices.versions
      .filter((v) => v.kind === field.type)
      .map((v) => ({ value: String(v.id), label: `#${v.id} ${v.name}${v.is_active ? ' (active)' : ''}` }));
  if (field.type === 'campaign') return choices.campaigns.map((c) => ({ value: String(c.id), label: `#${c.id} ${c.name}` }));
  return choices.snapshots
    .filter((s) => s.status === 'ready')
    .map((s) => ({ value: String(s.id), label: `#${s.number} (${s.counts?.annotations ?? 0} annotations)` }));
}
