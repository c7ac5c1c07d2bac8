import t from 'tap'
import { PersonalTokenDao } from '../../model/personal-token-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { Conflict, Invalid, NotFound, Unauthorized } from '../../service/errors.ts'
import { maxPersonalTokenName, maxPersonalTokens } from '../../service/limits.ts'
import { PersonalTokenService } from '../../service/personal-token-service.ts'
import { testPool } from '../helper.ts'

t.test('PersonalTokenService', async (t) => {
  const pool = await testPool(t)
  const users = new UserDao(pool)
  const service = new PersonalTokenService(new PersonalTokenDao(pool))
  const user = (name: string) =>
    users.insertUser({ name, username: name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
  const [alice, bob] = [await user('alice'), await user('bob')]

  t.test('create: a trimmed name, the scopes in any order; the secret once; grant answers it', async (t) => {
    const made = await service.create(alice, '  deploy bot ', ['write', 'read', 'read'])
    t.match(made, { name: 'deploy bot', scopes: ['read', 'write'], created_at: Date })
    t.match(made.token, /^mnt_/)
    t.same(await service.grant(made.token), { id: made.id, user_id: alice, scope: 'write' })
    t.same(await service.list(alice), [
      { id: made.id, name: 'deploy bot', scopes: ['read', 'write'], created_at: made.created_at }
    ])
    const reader = await service.create(alice, 'reader', ['read'])
    t.same(reader.scopes, ['read'])
    t.not(reader.token, made.token)
    t.equal(await service.grant(`${made.token}x`), undefined)
  })

  t.test('bad names and scopes are Invalid naming the field', async (t) => {
    const badName = new Invalid(`A token's name must be 1 to ${maxPersonalTokenName} characters`, { field: 'name' })
    for (const name of ['', '   ', 'x'.repeat(maxPersonalTokenName + 1)]) {
      await t.rejects(service.create(alice, name, ['read']), badName)
    }
    t.ok(await service.create(alice, '가'.repeat(maxPersonalTokenName), ['read']), 'counted in characters')
    for (const scopes of [[], ['write'], ['read', 'delete']]) {
      await t.rejects(
        service.create(alice, 'n', scopes),
        new Invalid('scopes must be ["read"] or ["read", "write"]', { field: 'scopes' })
      )
    }
    await t.rejects(
      service.create(999_999, 'n', ['read']),
      new Unauthorized('The account of this token no longer exists')
    )
  })

  t.test('revoke: the owner’s own only; then it grants nothing; logout-all revokes the rest', async (t) => {
    const made = await service.create(bob, 'bob', ['read'])
    await t.rejects(service.revoke(alice, made.id), new NotFound('Token not found', { token_id: made.id }))
    await service.revoke(bob, made.id)
    t.equal(await service.grant(made.token), undefined)
    const kept = await service.create(bob, 'kept', ['read'])
    await users.newTokenVersion(pool, bob)
    t.equal(await service.grant(kept.token), 'revoked')
  })

  t.test('an account holds a bounded number of tokens', async (t) => {
    const carol = await user('carol')
    for (let i = 0; i < maxPersonalTokens; i++) await service.create(carol, `t${i}`, ['read'])
    await t.rejects(
      service.create(carol, 'one more', ['read']),
      new Conflict(`An account may hold at most ${maxPersonalTokens} tokens: revoke one first`, { field: 'tokens' })
    )
  })
})
