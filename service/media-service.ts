// Media uploads (images and audio): upload, list, delete with an optional grace period, restore,
// purge, and what tweets need to attach media and show them.
import { randomUUID } from 'node:crypto'
import type { Readable } from 'node:stream'
import type { MediaDao, MediaRow, PoolConnection, StoredMediaRow } from '../model/media-dao.ts'
import { Conflict, Invalid, NotFound, Unavailable } from './errors.ts'
import type { Storage } from './storage.ts'
import { audioTypes, imageTypes, sniff } from './upload.ts'

export type { PoolConnection }

export interface MediaSettings {
  maxMediaBytes: number
  /** 0: a delete is final at once. Otherwise deleted media can be restored for this many days. */
  graceDays: number
  /** Pending rows older than this are uploads whose process died; purge removes them. */
  pendingTimeoutMs?: number
  clock?: () => Date
}

export interface MediaItem {
  id: number
  /** Storage URL: absolute, or a path for the view to make absolute. */
  url: string
  content_type: string
  size: number
  original_name: string | null
  created_at: Date
}

export interface MediaPage {
  media: MediaItem[]
  /** The `before` for the next page; null on the last one. */
  next_cursor: number | null
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
  /** Deleted media whose grace period is over, removed with their objects. */
  expired: number
  /** Items whose object could not be removed; their rows stay for the next purge. */
  failed: { id: number; error: unknown }[]
}

export const maxTweetMedia = 4

const mediaTypes = { ...imageTypes, ...audioTypes }

const day = 24 * 60 * 60 * 1000
const purgeBatch = 100
const maxOriginalName = 255

/**
 * The client's file name as metadata only: its last path segment, without control and bidi
 * characters that would garble a listing, at most 255 characters; null when nothing remains.
 */
export function cleanOriginalName(name: string | undefined): string | null {
  if (!name) return null
  const base = name.split(/[\\/]/).pop() ?? ''
  const cleaned = base
    .normalize('NFC')
    .replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, '')
    .trim()
  const limited = [...cleaned].slice(0, maxOriginalName).join('').trim()
  return limited === '' ? null : limited
}

function errorCode(error: unknown): string | undefined {
  return (error as { code?: string }).code
}

export class MediaService {
  private readonly graceMs: number
  private readonly pendingTimeoutMs: number
  private readonly now: () => Date

  constructor(
    private readonly mediaDao: MediaDao,
    private readonly storage: Storage,
    private readonly settings: MediaSettings
  ) {
    this.graceMs = settings.graceDays * day
    this.pendingTimeoutMs = settings.pendingTimeoutMs ?? day
    this.now = settings.clock ?? (() => new Date())
  }

  /**
   * Records the upload as pending, streams it to storage, then marks it ready: a crash at any point
   * leaves a pending row that purge finds, never an object nobody knows about.
   */
  async upload(userId: number, body: Readable, originalName?: string): Promise<MediaItem> {
    const sniffed = await sniff(body, mediaTypes, this.settings.maxMediaBytes)
    const contentType = sniffed.mime
    const storageKey = `media/${randomUUID()}.${sniffed.ext}`
    let id: number
    try {
      id = await this.mediaDao.insertPending({
        userId,
        storageKey,
        contentType,
        originalName: cleanOriginalName(originalName)
      })
    } catch (error) {
      sniffed.stream.resume()
      if (errorCode(error) === 'ER_NO_REFERENCED_ROW_2') throw new NotFound('User not found', { user_id: userId })
      throw error
    }
    try {
      const stored = await this.storage.put(storageKey, sniffed.stream, contentType)
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
  async mediaOf(userId: number, page: { limit: number; before?: number }): Promise<MediaPage> {
    const rows = await this.mediaDao.readyMedia(userId, page.limit + 1, page.before)
    const media = rows.slice(0, page.limit).map((row) => this.toItem(row))
    return { media, next_cursor: rows.length > page.limit ? media[media.length - 1].id : null }
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
      const unavailable = new Unavailable('The file store is unavailable; the media was not deleted, please try again', {
        media_id: id
      })
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
      throw new NotFound('Media not found: deleting media is final on this server (MEDIA_GRACE_DAYS=0), so nothing can be restored', {
        media_id: id
      })
    }
    throw new NotFound('Media not found, or its restore period (MEDIA_GRACE_DAYS) has ended', { media_id: id })
  }

  /** Removes stale pending uploads and media deleted longer ago than the grace period, with their objects. */
  async purge(): Promise<PurgeReport> {
    const now = this.now().getTime()
    const failed: PurgeReport['failed'] = []
    const staleBefore = new Date(now - this.pendingTimeoutMs)
    const pending = await this.purgeAll((after) => this.mediaDao.stalePending(staleBefore, after, purgeBatch), failed)
    const expiredBefore = new Date(now - this.graceMs)
    const expired = await this.purgeAll((after) => this.mediaDao.expiredDeleted(expiredBefore, after, purgeBatch), failed)
    return { pending, expired, failed }
  }

  /**
   * Links up to four of the user's ready media to a tweet, in order, inside the caller's transaction
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
          failed.push({ id: row.id, error })
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
