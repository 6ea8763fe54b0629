/**
 * The original API's uploads: POST /api/upload and POST /api/upload-csv. The File that REST parsed is the
 * variable of uploadDataset as it is (in-process execution): the service reads it once.
 */
import { badInput } from '../../domain/errors.js';
import type { RouteContext, RouteResult } from '../context.js';
import { ConfigureSessionMutation, UploadDatasetMutation, type UploadedDataset } from '../operations/index.js';
import { fileInfo, stepperView } from '../views.js';
import { requireSession } from './sessions.js';

const formString = (form: FormData, ...names: string[]): string | null => {
  for (const name of names) {
    const value = form.get(name);
    if (typeof value === 'string' && value !== '') return value;
  }
  return null;
};

/** The multipart form of an upload: its file and the form fields beside it. */
async function uploadForm(ctx: RouteContext): Promise<{ form: FormData; file: File }> {
  const form = await ctx.form('the CSV with the field "file"');
  const file = form.get('file');
  if (file === null || typeof file === 'string') throw badInput('The multipart field "file" is missing.', 'file');
  return { form, file };
}

async function uploadDataset(ctx: RouteContext, form: FormData, file: File): Promise<UploadedDataset> {
  const { uploadDataset: dataset } = await ctx.execute(UploadDatasetMutation, {
    file,
    name: formString(form, 'name'),
    label: formString(form, 'label_column', 'labelColumn'),
  });
  return dataset;
}

/** POST /api/upload: the dataset (201). */
export async function postUpload(ctx: RouteContext): Promise<RouteResult> {
  const { form, file } = await uploadForm(ctx);
  const dataset = await uploadDataset(ctx, form, file);
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
  const { form, file } = await uploadForm(ctx);
  const sessionId = formString(form, 'session_id');
  if (sessionId) await requireSession(ctx, sessionId);
  const upload = await uploadDataset(ctx, form, file);
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
