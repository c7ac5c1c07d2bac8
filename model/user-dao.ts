import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise'

export interface UserRow {
  id: number
  name: string
  email: string
  profile: string
  profile_picture: string | null
  created_at: Date
}

export interface CredentialsRow {
  id: number
  hashed_password: string
}

export interface NewUser {
  name: string
  email: string
  profile: string
  hashedPassword: string
}

const userColumns = 'id, name, email, profile, profile_picture, created_at'

export class UserDao {
  constructor(private readonly pool: Pool) {}

  /** Inserts a user; a duplicate email surfaces as mysql2's ER_DUP_ENTRY error. */
  async insertUser(user: NewUser): Promise<number> {
    const [result] = await this.pool.execute<ResultSetHeader>(
      'INSERT INTO users (name, email, profile, hashed_password) VALUES (?, ?, ?, ?)',
      [user.name, user.email, user.profile, user.hashedPassword]
    )
    return result.insertId
  }

  async userById(id: number): Promise<UserRow | undefined> {
    const [rows] = await this.pool.execute<(UserRow & RowDataPacket)[]>(
      `SELECT ${userColumns} FROM users WHERE id = ?`,
      [id]
    )
    return rows[0]
  }

  async credentialsByEmail(email: string): Promise<CredentialsRow | undefined> {
    const [rows] = await this.pool.execute<(CredentialsRow & RowDataPacket)[]>(
      'SELECT id, hashed_password FROM users WHERE email = ?',
      [email]
    )
    return rows[0]
  }

  async exists(id: number): Promise<boolean> {
    const [rows] = await this.pool.execute<RowDataPacket[]>('SELECT 1 FROM users WHERE id = ?', [id])
    return rows.length > 0
  }

  async profilePicture(id: number): Promise<string | null | undefined> {
    const [rows] = await this.pool.execute<RowDataPacket[]>('SELECT profile_picture FROM users WHERE id = ?', [id])
    return rows.length === 0 ? undefined : (rows[0].profile_picture as string | null)
  }

  /**
   * Sets the picture key and returns the one it replaced (null when there was none), in one
   * transaction so two concurrent uploads cannot both miss the old file. Undefined: no such user.
   */
  async replaceProfilePicture(id: number, key: string | null): Promise<{ previous: string | null } | undefined> {
    const connection = await this.pool.getConnection()
    try {
      await connection.beginTransaction()
      const [rows] = await connection.execute<RowDataPacket[]>(
        'SELECT profile_picture FROM users WHERE id = ? FOR UPDATE',
        [id]
      )
      if (rows.length === 0) {
        await connection.rollback()
        return undefined
      }
      await connection.execute('UPDATE users SET profile_picture = ? WHERE id = ?', [key, id])
      await connection.commit()
      return { previous: rows[0].profile_picture as string | null }
    } catch (error) {
      await connection.rollback().catch(() => {})
      throw error
    } finally {
      connection.release()
    }
  }
}
