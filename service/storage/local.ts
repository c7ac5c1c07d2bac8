// Local-disk storage under UPLOAD_DIR, served by @fastify/static at /uploads/. For one instance only.
import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { assertSafeKey, isExternalUrl, type Storage, type StoredObject } from './storage.ts'

export const localUploadsPrefix = '/uploads/'

export class LocalStorage implements Storage {
  private readonly uploadsUrl: string

  /** `publicUrl`: where clients reach this server, without a trailing slash (config.publicUrl). */
  constructor(
    private readonly root: string,
    publicUrl: string
  ) {
    this.uploadsUrl = publicUrl + localUploadsPrefix
  }

  async put(key: string, body: Readable, _contentType: string): Promise<StoredObject> {
    const target = this.pathOf(key)
    await mkdir(dirname(target), { recursive: true })
    // Write under a temporary name and rename, so a reader never sees half a file. The name derives
    // from the key (never reused), so delete() also finds what a killed process left half-written.
    const partial = `${target}.partial`
    try {
      await pipeline(body, createWriteStream(partial, { flags: 'wx' }))
      await rename(partial, target)
    } catch (error) {
      await rm(partial, { force: true })
      throw error
    }
    const { size } = await stat(target)
    return { key, size }
  }

  async delete(key: string): Promise<void> {
    if (isExternalUrl(key)) return
    const target = this.pathOf(key)
    await rm(`${target}.partial`, { force: true })
    await rm(target, { force: true })
  }

  url(key: string): string {
    // Safe keys need no URL encoding.
    return isExternalUrl(key) ? key : this.uploadsUrl + key
  }

  private pathOf(key: string): string {
    assertSafeKey(key)
    return join(this.root, key)
  }
}
