/** Rotating a secret and deleting a device, each after a confirmation. */
import type { Credentials, Device } from '../api.js';
import type { Ctx } from '../context.js';
import { announce } from '../dom.js';
import { describeError } from '../i18n/api-errors.js';
import { t } from '../i18n/index.js';
import { confirmDialog } from './confirm.js';
import { showCredentials } from './credentials.js';

export async function rotateSecret(ctx: Ctx, device: { id: string; name: string }): Promise<boolean> {
  const yes = await confirmDialog({
    title: t('device.rotateTitle', { name: device.name }),
    message: t('device.rotateMessage'),
    confirm: t('device.rotate'),
  });
  if (!yes) return false;
  try {
    const d = await ctx.api.post<Device & { credentials: Credentials }>(
      `/v1/devices/${encodeURIComponent(device.id)}/credentials`,
    );
    await showCredentials(d.name, d.credentials, t('device.rotated', { name: d.name }));
    return true;
  } catch (err) {
    announce(describeError(err), 'error');
    return false;
  }
}

export async function deleteDevice(ctx: Ctx, device: { id: string; name: string }): Promise<boolean> {
  const yes = await confirmDialog({
    title: t('device.deleteTitle', { name: device.name }),
    message: t('device.deleteMessage'),
    confirm: t('device.delete'),
  });
  if (!yes) return false;
  try {
    await ctx.api.del(`/v1/devices/${encodeURIComponent(device.id)}`);
    announce(t('device.deleted', { name: device.name }));
    return true;
  } catch (err) {
    announce(describeError(err), 'error');
    return false;
  }
}
