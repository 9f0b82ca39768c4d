import type { ResponseOf } from '@bosun/sdk';
import { useMutation, useQueries } from '@tanstack/react-query';
import { useDeferredValue, useMemo, useState } from 'react';
import { useCan } from '../App.tsx';
import { api, type Deployment, errorText } from '../api.ts';
import { CodeEditor } from '../components/CodeEditor.tsx';
import { Diff, diffFiles, filesOf } from '../components/Diff.tsx';
import { jsonSchemaValidator, schemaValue, type Violation, validateText } from '../validate.ts';

type Device = Awaited<ReturnType<typeof api.devices.get>>;

/**
 * Edits the instances of a deployment: validated as you type (Ajv in the browser for JSON Schema;
 * the server checks again, and alone for CUE), reviewed as a diff, then deployed as a new deployment
 * whose parent is the one edited. If the device's current deployment changed meanwhile, it says so.
 */
export default function Editor({
  device,
  base,
  onDone,
}: {
  device: Device;
  base: Deployment;
  onDone: (message: string) => void;
}) {
  const instances = base.config_instances ?? [];
  const schemas = useQueries({
    queries: instances.map((i) => ({
      queryKey: ['config_schema', i.config_schema_id],
      queryFn: () => api.configSchemas.get(i.config_schema_id, { expand: 'documents' }),
      staleTime: Number.POSITIVE_INFINITY,
    })),
  });
  const [texts, setTexts] = useState<Record<string, string>>(() =>
    Object.fromEntries(instances.map((i) => [i.id, i.content?.data ?? ''])),
  );
  const [active, setActive] = useState(instances[0]?.id ?? '');
  const [review, setReview] = useState(false);
  const [conflict, setConflict] = useState('');
  const canDeploy = useCan('deployments:deploy');

  const validators = useMemo(
    () =>
      Object.fromEntries(
        instances.map((inst, n) => {
          const schema = schemas[n]?.data;
          if (schema?.language !== 'jsonschema') return [inst.id, undefined];
          const doc = schema.documents?.[0];
          if (!doc) return [inst.id, undefined];
          return [inst.id, jsonSchemaValidator(schema.id, schemaValue(schema.format, doc.data))];
        }),
      ),
    [instances, schemas],
  );
  // CUE has no validator in the browser: the server checks (without creating) as the user pauses.
  const settled = useDeferredValue(texts);
  const cueChecks = useQueries({
    queries: instances.map((inst, n) => {
      const data = settled[inst.id] ?? '';
      return {
        queryKey: ['validate', inst.config_schema_id, data],
        queryFn: () =>
          api.http.request<ResponseOf<'validateConfigInstanceContent'>>(
            'POST',
            `/config_schemas/${encodeURIComponent(inst.config_schema_id)}/validate`,
            { body: { content: { format: 'json', data } } },
          ),
        enabled: schemas[n]?.data?.language === 'cue' && validateText(data, undefined).length === 0,
        staleTime: Number.POSITIVE_INFINITY,
      };
    }),
  });
  const violations: Record<string, Violation[]> = Object.fromEntries(
    instances.map((i, n) => {
      const local = validateText(texts[i.id] ?? '', validators[i.id]);
      const remote = cueChecks[n]?.data?.errors ?? [];
      return [i.id, local.length ? local : remote.map((e) => ({ path: e.path || '/', message: e.message }))];
    }),
  );
  const invalid = Object.values(violations).some((v) => v.length > 0);
  const edited = new Map(instances.map((i) => [i.filepath, texts[i.id] ?? '']));
  const changed = instances.filter((i) => (texts[i.id] ?? '') !== (i.content?.data ?? ''));

  const deploy = useMutation({
    mutationFn: async (force: boolean) => {
      const now = await api.deployments.list({ device_id: device.id, target_status: 'deployed', limit: 1 });
      const latest = now.data[0];
      if (!force && latest && latest.id !== base.id) {
        setConflict(`${latest.id} was deployed to ${device.name} after you opened the editor.`);
        return undefined;
      }
      const ids: string[] = [];
      for (const inst of instances) {
        if (!changed.includes(inst)) {
          ids.push(inst.id);
          continue;
        }
        const made = await api.configInstances.create({
          config_schema_id: inst.config_schema_id,
          content: { format: 'json', data: texts[inst.id] ?? '' },
        });
        ids.push(made.id);
      }
      return api.deployments.create({
        description: `Edited in the dashboard: ${changed.map((c) => c.filepath).join(', ')}`,
        device_id: device.id,
        release_id: base.release_id,
        target_status: 'deployed',
        config_instance_ids: ids,
        parent_id: base.id,
      });
    },
    onSuccess: (d) => d && onDone(`Deployment ${d.id} created (${d.status}).`),
  });

  const current = instances.find((i) => i.id === active);
  return (
    <section className="editor-panel" aria-labelledby="editor-title">
      <h2 id="editor-title">Edit config of {device.name}</h2>
      <div role="tablist" aria-label="Files">
        {instances.map((i) => (
          <button
            key={i.id}
            type="button"
            role="tab"
            aria-selected={i.id === active}
            onClick={() => setActive(i.id)}
          >
            {i.filepath}
            {violations[i.id]?.length ? ` (${violations[i.id]?.length} errors)` : ''}
          </button>
        ))}
      </div>
      {current && (
        <div role="tabpanel">
          <CodeEditor
            key={current.id}
            label={`Editor for ${current.filepath}`}
            value={texts[current.id] ?? ''}
            onChange={(text) => setTexts((t) => ({ ...t, [current.id]: text }))}
            check={(text) => validateText(text, validators[current.id])}
          />
          <ul className="violations" aria-label="Violations" aria-live="polite">
            {(violations[current.id] ?? []).map((v) => (
              <li key={`${v.path} ${v.message}`} className="violation" data-path={v.path}>
                <code>{v.path}</code> {v.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      <div className="actions">
        <button type="button" onClick={() => setReview(!review)} disabled={changed.length === 0}>
          {review ? 'Hide review' : 'Review changes'}
        </button>
        {canDeploy && (
          <button
            type="button"
            className="primary"
            disabled={invalid || changed.length === 0 || deploy.isPending}
            onClick={() => deploy.mutate(false)}
          >
            Deploy changes
          </button>
        )}
        <button type="button" onClick={() => onDone('Edit cancelled.')}>
          Cancel
        </button>
      </div>
      {conflict && (
        <div role="alert" className="error">
          {conflict}{' '}
          <button type="button" onClick={() => deploy.mutate(true)}>
            Overwrite anyway
          </button>
        </div>
      )}
      {deploy.error && (
        <p role="alert" className="error">
          {errorText(deploy.error)}
        </p>
      )}
      {review && <Diff files={diffFiles(filesOf(base), edited)} />}
    </section>
  );
}
