/** A small app's Postgres schema for integrity tests: users, sessions (app-level link, no FK)
 * and posts (FK to users), two rows each, every link resolving. */
export const APP_SCHEMA: readonly string[] = [
  "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL)",
  "CREATE TABLE sessions (id serial PRIMARY KEY, user_id int NOT NULL)",
  "CREATE TABLE posts (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES users(id), body text)",
  "INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com')",
  "INSERT INTO sessions (user_id) VALUES (1), (2)",
  "INSERT INTO posts (user_id, body) VALUES (1, 'hello'), (2, 'world')",
];
