/**
 * The original API's uploads: POST /api/upload and POST /api/upload-csv. The file is read as it arrives
 * (ctx.streamForm): it is the variable of uploadDataset as it is (in-process execution), so the upload thread parses
 * it while the client is still sending it.
 *
 * A form field may come after the file (`curl -F file=@x.csv -F label_column=label`). The operation starts with the
 * fields sent before the file; when one that could change it is still missing, the file's bytes are kept, and a
 * field after the file that does change it (a label, a name) fails that first upload before it stores anything and
 * runs it again, from the kept bytes, with every field: the same answer as a form read whole.
 */
import { badInput } from '../../domain/errors.js';
import type { StreamedForm } from '../../http/multipart-stream.js';
import type { RouteContext, RouteResult } from '../context.js';
import { ConfigureSessionMutation, UploadDatasetMutation, type UploadedDataset } from '../operations/index.js';
import { fileInfo, stepperView } from '../views.js';
import { requireSession } from './sessions.js';

type Fields = ReadonlyMap<string, string>;

const formString = (fields: Fields, ...names: string[]): string | null => {
  for (const name of names) {
    const value = fields.get(name);
    if (value !== undefined && value !== '') return value;
  }
  return null;
};

const NAME = ['name'];
const LABEL = ['label_column', 'labelColumn'];

type UploadForm = StreamedForm & { file: NonNullable<StreamedForm['file']> };

const hasFile = (form: StreamedForm): form is UploadForm => form.file !== null;

/** The multipart form of an upload, handed over when its "file" part begins. */
async function uploadForm(ctx: RouteContext): Promise<UploadForm> {
  const form = await ctx.streamForm('the CSV with the field "file"', 'file');
  if (!hasFile(form)) throw badInput('The multipart field "file" is missing.', 'file');
  // The form itself, not a copy: its file reads `keep` and `beforeEnd` from it.
  return form;
}

/**
 * uploadDataset with the file as it arrives; `check` runs once the whole form is known (before anything is stored).
 * Runs it again from the kept bytes when a field after the file changes the operation.
 */
async function uploadDataset(
  ctx: RouteContext,
  form: UploadForm,
  check?: (fields: Fields) => Promise<void>,
): Promise<{ dataset: UploadedDataset; fields: Fields }> {
  const variables = (fields: Fields) => ({ name: formString(fields, ...NAME), label: formString(fields, ...LABEL) });
  const early = variables(form.fields);
  // A field not there yet may still come after the file: keep its bytes in case it does.
  form.keep = early.name === null || early.label === null;
  /** The whole form, when a field after the file changed the operation (a holder: set in a callback). */
  const changed: { fields: Fields | null } = { fields: null };
  form.beforeEnd = async (fields) => {
    const late = variables(fields);
    if (late.name !== early.name || late.label !== early.label) {
      changed.fields = fields;
      throw badInput('A form field after the file changed the upload.', 'file');
    }
    await check?.(fields);
  };
  const { file } = form.file;
  try {
    const { uploadDataset: dataset } = await ctx.execute(UploadDatasetMutation, { file, ...early });
    return { dataset, fields: await form.complete };
  } catch (error) {
    const { fields } = changed;
    if (fields === null) throw error;
    await check?.(fields);
    const whole = new File([Buffer.concat(form.kept)], file.name, { type: file.type });
    const { uploadDataset: dataset } = await ctx.execute(UploadDatasetMutation, { file: whole, ...variables(fields) });
    return { dataset, fields };
  }
}

/** POST /api/upload: the dataset (201). */
export async function postUpload(ctx: RouteContext): Promise<RouteResult> {
  const { dataset } = await uploadDataset(ctx, await uploadForm(ctx));
  return {
    status: 201,
    data: {
      dataset_id: dataset.id,
      dataset,
      filename: dataset.originalFileName,
      file_size: dataset.sizeBytes,
      uploaded_at: dataset.createdAt,
    },
  };
}

/** POST /api/upload-csv: the upload in `file_info` words; with a session, it becomes that session's user data. */
export async function postUploadCsv(ctx: RouteContext): Promise<RouteResult> {
  const form = await uploadForm(ctx);
  // The session is checked before the upload is stored: at once when its field came first, else at the form's end.
  const early = formString(form.fields, 'session_id');
  if (early) await requireSession(ctx, early);
  const { dataset: upload, fields } = await uploadDataset(ctx, form, async (all) => {
    const sessionId = formString(all, 'session_id');
    if (sessionId && sessionId !== early) await requireSession(ctx, sessionId);
  });
  const sessionId = formString(fields, 'session_id');
  const info = fileInfo(upload);
  const data: Record<string, unknown> = {
    message: `File uploaded successfully. ${String(info.num_rows)} rows, ${String(info.num_columns)} columns detected.`,
    file_info: info,
    dataset_id: upload.id,
    session_id: sessionId,
  };
  if (sessionId) {
    const { configureSession } = await ctx.execute(ConfigureSessionMutation, {
      input: { sessionId, dataSource: 'USER', datasetId: upload.id },
    });
    Object.assign(data, stepperView(configureSession));
  }
  return { data };
}
