// Media uploads (images and audio): upload, list, delete with an optional grace period, restore,
// purge, and what tweets need to attach media and show them.
import { randomUUID } from 'node:crypto'
import { pipeline, Readable } from 'node:stream'
import type { Transactor } from '../model/database.ts'
import type { MediaDao, MediaRow, NewMedia, PoolConnection, StoredMediaRow } from '../model/media-dao.ts'
import type { PendingObjectDao } from '../model/pending-object-dao.ts'
import { Conflict, Invalid, NotFound, PayloadTooLarge, Unavailable } from './errors.ts'
import { stripImageMetadata } from './image.ts'
import { maxOriginalNameLength, maxTweetMedia } from './limits.ts'
import { pageOf, rowsToRead, type Page, type PageRequest } from './page.ts'
import type { Storage } from './storage/storage.ts'
import { audioTypes, imageTypes, sizeLimit, sniff } from './sniff.ts'

export type { PoolConnection }

export interface MediaSettings {
  maxMediaBytes: number
  /** 0: a delete is final at once. Otherwise deleted media can be restored for this many days. */
  graceDays: number
  /**
   * The bytes a user's media may hold, ready or pending (at their reservation) or deleted and not yet
   * purged; 0 or absent: no quota.
   */
  quotaBytes?: number
  /** Uploads not attached to a tweet this long after upload expire, for purge to remove; 0 or absent: never. */
  unattachedTtlMs?: number
  /** Images with more pixels are refused before they are decoded. */
  maxImagePixels: number
  /** Pending rows older than this are uploads whose process died; purge removes them. */
  pendingTimeoutMs?: number
  clock?: () => Date
}

export interface MediaItem {
  id: number
  /** Absolute public URL (Storage.url). */
  url: string
  content_type: string
  size: number
  original_name: string | null
  created_at: Date
}

export interface TweetMedia {
  id: number
  url: string
  content_type: string
  size: number
  position: number
}

export interface PurgeReport {
  /** Uploads that never finished, removed with whatever part of their object exists. */
  pending: number
  /** Uploads on no tweet past MEDIA_UNATTACHED_TTL, marked deleted (and counted in `expired` once removed). */
  unattached: number
  /** Deleted media whose grace period is over, removed with their objects. */
  expired: number
  /** Objects no row references (replaced profile pictures, picture uploads that died), removed. */
  objects: number
  /** Objects that could not be removed (with their media id, if any); their records stay for the next purge. */
  failed: { id?: number; key: string; error: unknown }[]
}

const mediaTypes = { ...imageTypes, ...audioTypes }

const day = 24 * 60 * 60 * 1000
const purgeBatch = 100

/**
 * The client's file name as metadata only: its last path segment, without control and bidi
 * characters that would garble a listing, at most maxOriginalNameLength characters; null when nothing remains.
 */
export function cleanOriginalName(name: string | undefined): string | null {
  if (!name) return null
  const base = name.split(/[\\/]/).pop() ?? ''
  const cleaned = base
    .normalize('NFC')
    .replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, '')
    .trim()
  const limited = [...cleaned].slice(0, maxOriginalNameLength).join('').trim()
  return limited === '' ? null : limited
}

function errorCode(error: unknown): string | undefined {
  return (error as { code?: string }).code
}

function quotaExceeded(quota: number, used: number): PayloadTooLarge {
  return new PayloadTooLarge(`This upload would exceed your media quota: ${used} of ${quota} bytes are used`, {
    quota_bytes: quota,
    used_bytes: used
  })
}

export class MediaService {
  private readonly graceMs: number
  private readonly pendingTimeoutMs: number
  private readonly now: () => Date

  constructor(
    private readonly transactor: Transactor,
    private readonly mediaDao: MediaDao,
    private readonly pendingObjectDao: PendingObjectDao,
    private readonly storage: Storage,
    private readonly settings: MediaSettings
  ) {
    this.graceMs = settings.graceDays * day
    this.pendingTimeoutMs = settings.pendingTimeoutMs ?? day
    this.now = settings.clock ?? (() => new Date())
  }

  /**
   * Reserves quota and records the upload as pending, streams it to storage (images stripped of their
   * metadata), then marks it ready with its stored size: a crash at any point leaves a pending row that
   * purge finds, never an object nobody knows about.
   */
  async upload(userId: number, body: Readable, originalName?: string): Promise<MediaItem> {
    const sniffed = await sniff(body, mediaTypes, this.settings.maxMediaBytes)
    const contentType = sniffed.mime
    const storageKey = `media/${randomUUID()}.${sniffed.ext}`
    let reservation: { id: number; used: number; bytes: number }
    try {
      reservation = await this.reserve({
        userId,
        storageKey,
        contentType,
        originalName: cleanOriginalName(originalName)
      })
    } catch (error) {
      sniffed.stream.resume()
      throw error
    }
    const { id, used, bytes } = reservation
    try {
      const quota = this.settings.quotaBytes ?? 0
      const overQuota = () => quotaExceeded(quota, used)
      const capped = quota > 0 ? pipeline(sniffed.stream, sizeLimit(bytes, overQuota), () => {}) : sniffed.stream
      let content: Readable = capped
      if (sniffed.mime in imageTypes) {
        const stripped = await stripImageMetadata(capped, sniffed.mime, this.settings.maxImagePixels)
        // Re-encoding can add bytes; the reservation is all the quota has room for.
        if (quota > 0 && stripped.length > bytes) throw overQuota()
        content = Readable.from([stripped])
      }
      const stored = await this.storage.put(storageKey, content, contentType)
      if (!(await this.mediaDao.markReady(id, stored.size))) {
        throw new Unavailable('The upload took too long and was discarded; please try again')
      }
    } catch (error) {
      await this.discard({ id, storage_key: storageKey })
      throw error
    }
    return this.toItem((await this.mediaDao.mediaOf(userId, id))!)
  }

  /** The user's own ready media, newest first; pass next_cursor as `before` for the next page. */
  async mediaOf(userId: number, page: PageRequest): Promise<Page<MediaItem>> {
    const rows = await this.mediaDao.readyMedia(userId, rowsToRead(page), page.before)
    const read = pageOf(rows, page, (row) => row.id)
    return { ...read, items: read.items.map((row) => this.toItem(row)) }
  }

  /**
   * Hides the item at once. Without a grace period its object and row then go too; if the store
   * fails, the item is shown again and the caller may retry.
   */
  async delete(userId: number, id: number): Promise<void> {
    const row = await this.mediaDao.mediaOf(userId, id)
    if (!row || !(await this.mediaDao.markDeleted(userId, id, this.now()))) {
      throw new NotFound('Media not found', { media_id: id })
    }
    if (this.graceMs > 0) return
    try {
      await this.storage.delete(row.storage_key)
    } catch (error) {
      // If even this fails the row stays hidden and the next purge finishes the delete.
      await this.mediaDao.restore(userId, id, new Date(0)).catch(() => false)
      const unavailable = new Unavailable(
        'The file store is unavailable; the media was not deleted, please try again',
        {
          media_id: id
        }
      )
      throw Object.assign(unavailable, { cause: error })
    }
    await this.mediaDao.deleteMedia(id)
  }

  /** Brings back an item deleted within the grace period: 409 when it is not deleted, else 404. */
  async restore(userId: number, id: number): Promise<MediaItem> {
    const deletedAfter = new Date(this.now().getTime() - this.graceMs)
    if (this.graceMs > 0 && (await this.mediaDao.restore(userId, id, deletedAfter))) {
      return this.toItem((await this.mediaDao.mediaOf(userId, id))!)
    }
    const row = await this.mediaDao.mediaOf(userId, id)
    if (row?.status === 'ready' && row.deleted_at === null) {
      throw new Conflict('This media item is not deleted', { media_id: id })
    }
    if (this.graceMs === 0) {
      throw new NotFound(
        'Media not found: deleting media is final on this server (MEDIA_GRACE_DAYS=0), so nothing can be restored',
        {
          media_id: id
        }
      )
    }
    throw new NotFound('Media not found, or its restore period (MEDIA_GRACE_DAYS) has ended', { media_id: id })
  }

  /**
   * Removes stale pending uploads, expires uploads left off every tweet past their TTL, removes media
   * deleted longer ago than the grace period and objects no row references, objects first. Safe to run
   * in several processes at once: deleting an object or row twice is harmless, and expiring claims rows.
   */
  async purge(): Promise<PurgeReport> {
    const now = this.now().getTime()
    const failed: PurgeReport['failed'] = []
    const staleBefore = new Date(now - this.pendingTimeoutMs)
    const pending = await this.purgeAll((after) => this.mediaDao.stalePending(staleBefore, after, purgeBatch), failed)
    const expiredBefore = new Date(now - this.graceMs)
    const unattached = await this.expireUnattached(new Date(now), expiredBefore)
    const expired = await this.purgeAll(
      (after) => this.mediaDao.expiredDeleted(expiredBefore, after, purgeBatch),
      failed
    )
    const objects = await this.purgeObjects(new Date(now), failed)
    return { pending, unattached, expired, objects, failed }
  }

  /**
   * Links up to maxTweetMedia of the user's ready media to a tweet, in order, inside the caller's transaction
   * (the rows stay locked until it ends). Anything else is Invalid on field media_ids.
   */
  async attachToTweet(connection: PoolConnection, tweetId: number, userId: number, mediaIds: number[]): Promise<void> {
    if (mediaIds.length === 0) return
    if (mediaIds.length > maxTweetMedia) {
      throw new Invalid(`A tweet can have at most ${maxTweetMedia} media items`, { field: 'media_ids' })
    }
    if (new Set(mediaIds).size !== mediaIds.length) {
      throw new Invalid('The same media item is listed twice', { field: 'media_ids' })
    }
    const rows = await this.mediaDao.attachableMedia(connection, userId, mediaIds)
    const found = new Set(rows.map((row) => row.id))
    const missing = mediaIds.filter((id) => !found.has(id))
    if (missing.length > 0) {
      throw new Invalid('Media not found among your uploads', { field: 'media_ids', media_ids: missing })
    }
    const attached = rows.filter((row) => row.tweet_id !== null).map((row) => row.id)
    if (attached.length > 0) {
      throw new Invalid('Media is already attached to a tweet', { field: 'media_ids', media_ids: attached })
    }
    try {
      await this.mediaDao.insertTweetMedia(connection, tweetId, mediaIds)
      await this.mediaDao.clearExpiry(connection, mediaIds)
    } catch (error) {
      if (errorCode(error) === 'ER_DUP_ENTRY') {
        throw new Invalid('Media is already attached to a tweet', { field: 'media_ids', media_ids: mediaIds })
      }
      throw error
    }
  }

  /** Each tweet's visible media in position order, for every id asked (an empty list when none). */
  async mediaForTweets(tweetIds: number[]): Promise<Map<number, TweetMedia[]>> {
    const grouped = new Map<number, TweetMedia[]>(tweetIds.map((id) => [id, []]))
    for (const row of await this.mediaDao.mediaForTweets(tweetIds)) {
      grouped.get(row.tweet_id)?.push({
        id: row.id,
        url: this.storage.url(row.storage_key),
        content_type: row.content_type,
        size: row.size,
        position: row.position
      })
    }
    return grouped
  }

  /** Counts the user's stored bytes with their row locked, and records the upload with what it may take. */
  private async reserve(
    media: Omit<NewMedia, 'reservedBytes' | 'expiresAt'>
  ): Promise<{ id: number; used: number; bytes: number }> {
    const quota = this.settings.quotaBytes ?? 0
    const ttl = this.settings.unattachedTtlMs ?? 0
    const expiresAt = ttl > 0 ? new Date(this.now().getTime() + ttl) : null
    return this.transactor.run(async (connection) => {
      const used = await this.mediaDao.lockStoredBytes(connection, media.userId)
      if (used === undefined) throw new NotFound('User not found', { user_id: media.userId })
      if (quota > 0 && used >= quota) throw quotaExceeded(quota, used)
      const bytes = quota > 0 ? Math.min(this.settings.maxMediaBytes, quota - used) : 0
      const id = await this.mediaDao.insertPending(connection, { ...media, reservedBytes: bytes, expiresAt })
      return { id, used, bytes }
    })
  }

  /**
   * Marks uploads past their expiry (never attached within MEDIA_UNATTACHED_TTL) as deleted when the
   * grace period ended: they were never shown, so there is nothing to restore. Rows are claimed with
   * SKIP LOCKED, so concurrent purges split them and an attach in progress keeps its rows. (Marking a
   * row re-checks its owner's row for the foreign key, so a post attaching it at that moment can
   * deadlock with this; InnoDB picks a victim and the Transactor retries it.)
   */
  private async expireUnattached(now: Date, deletedAt: Date): Promise<number> {
    let expired = 0
    for (;;) {
      const ids = await this.transactor.run(async (connection) => {
        const claimed = await this.mediaDao.lockExpired(connection, now, purgeBatch)
        await this.mediaDao.markDeletedIn(connection, claimed, deletedAt)
        return claimed
      })
      expired += ids.length
      if (ids.length < purgeBatch) return expired
    }
  }

  private async purgeObjects(now: Date, failed: PurgeReport['failed']): Promise<number> {
    let removed = 0
    let afterKey = ''
    for (;;) {
      const keys = await this.pendingObjectDao.due(now, afterKey, purgeBatch)
      for (const key of keys) {
        try {
          await this.storage.delete(key)
          if (await this.pendingObjectDao.remove(this.transactor.autocommit, key)) removed += 1
        } catch (error) {
          failed.push({ key, error })
        }
      }
      if (keys.length < purgeBatch) return removed
      afterKey = keys[keys.length - 1]
    }
  }

  private async purgeAll(
    next: (afterId: number) => Promise<StoredMediaRow[]>,
    failed: PurgeReport['failed']
  ): Promise<number> {
    let removed = 0
    let afterId = 0
    for (;;) {
      const batch = await next(afterId)
      for (const row of batch) {
        try {
          await this.storage.delete(row.storage_key)
          if (await this.mediaDao.deleteMedia(row.id)) removed += 1
        } catch (error) {
          failed.push({ id: row.id, key: row.storage_key, error })
        }
      }
      if (batch.length < purgeBatch) return removed
      afterId = batch[batch.length - 1].id
    }
  }

  /** Undoes a failed upload. The row goes only once the object is gone, so purge can retry otherwise. */
  private async discard(row: StoredMediaRow): Promise<void> {
    try {
      await this.storage.delete(row.storage_key)
      await this.mediaDao.deleteMedia(row.id)
    } catch {
      // The pending row stays behind on purpose: purge removes it and its object later.
    }
  }

  private toItem(row: MediaRow): MediaItem {
    return {
      id: row.id,
      url: this.storage.url(row.storage_key),
      content_type: row.content_type,
      size: row.size,
      original_name: row.original_name,
      created_at: row.created_at
    }
  }
}
