import t from 'tap'
import { createPool } from '../../model/database.ts'
import { UserDao } from '../../model/user-dao.ts'
import { appFor, signUpAndLogin, testConfig, testDatabaseUrl } from '../helper.ts'

// A second database stands in for the replica: whatever the app reads from it proves the routing.
t.test('DATABASE_READ_URL routes timeline, profile and follow-list reads to the replica', async (t) => {
  const replicaUrl = await testDatabaseUrl(t)
  const config = await testConfig(t)
  const app = await appFor({ ...config, databaseReadUrl: replicaUrl })
  t.teardown(() => app.close())
  const replica = createPool(replicaUrl)
  t.teardown(() => replica.end())
  const replicaUsers = new UserDao(replica)

  const alice = await signUpAndLogin(app, 'Alice')
  const tweet = await app.inject({
    method: 'POST',
    url: '/tweet',
    headers: { authorization: alice.token },
    payload: { tweet: 'on the primary' }
  })
  t.equal(tweet.statusCode, 200, 'writes go to the primary')

  t.test('a user only the replica has is visible through profile and timeline reads', async (t) => {
    const onlyOnReplica = await replicaUsers.insertUser({
      name: 'Replica',
      email: 'r@example.com',
      profile: '',
      hashedPassword: 'x'
    })
    const profile = await app.inject({ url: `/users/${onlyOnReplica}` })
    t.equal(profile.statusCode, 200)
    t.equal(profile.json().name, 'Replica')
    t.equal((await app.inject({ url: `/users/${onlyOnReplica}/followers` })).statusCode, 200)
    const timeline = await app.inject({ url: `/timeline/${onlyOnReplica}` })
    t.equal(timeline.statusCode, 200)
    t.same(timeline.json().timeline, [])
  })

  t.test('your own profile reads the primary, so you see your own writes', async (t) => {
    const me = await app.inject({ url: '/users/me', headers: { authorization: alice.token } })
    t.equal(me.statusCode, 200)
    t.equal(me.json().tweets_count, 1)
    t.equal(
      (await app.inject({ url: `/tweet/${tweet.json().id}` })).statusCode,
      200,
      'a tweet just written is read from the primary'
    )
  })
})
