/** The server instructions every MCP client receives at initialize: short, for the model. */
export const INSTRUCTIONS = `memvault is the user's private memory: what happened in their life and facts about them, in their own words.

Categories and levels:
- CHRONOLOGICAL (events with a time) and GENERAL (facts, preferences): level 1, always readable here.
- CONFIDENTIAL (health, money, work matters): level 2, readable once the session or token holds it.
- SECRET (passwords, PINs, codes): level 3. ULTRASECRET (seed phrases, master keys): level 4.
Locked levels are invisible to you: no tool shows their content, only how many memories they hold. The user
unlocks levels in the memvault app; you cannot. Writes are never refused: remember seals a secret at its level
even while that level is locked here, so it is write-only for you.

How to work:
- Before answering a question about the user's life, call search_memories (or timeline for "what happened").
- Lists cut long memories; call get_memory with the id for the whole text.
- Call remember when the user tells you something worth keeping; do not store your own answers.
- forget_memory deletes for good: only when the user asks. correct_memory moves a memory to another category.
- When search_memories says "no match", say you do not know rather than guessing from unrelated memories.
Read memvault://guide for more.`;

/** The `memvault://guide` resource: the longer guide a client can attach to a conversation. */
export const GUIDE = `# memvault for assistants

memvault keeps one person's memories: each message they send is classified into a category, stored in a
Markdown file for that category and sealed with the encryption of its security level.

| category | level | what goes there | readable here |
|---|---|---|---|
| CHRONOLOGICAL | 1 | things that happened, with a time | always |
| GENERAL | 1 | facts, preferences, people | always |
| CONFIDENTIAL | 2 | health, money, work, family matters | when the session or token holds level 2 |
| SECRET | 3 | passwords, PINs, codes, account numbers | when the session has level 3 unlocked (password + TOTP) |
| ULTRASECRET | 4 | seed phrases, master keys | when the session has level 4 unlocked (passkey) |

## What you can do

- search_memories {query, from?, to?, categories?, tags?, limit?, cursor?}: full-text, typo-tolerant and
  semantic search in the open levels. Results are ranked; "related" ones only resemble the query in meaning.
  When nothing matches, it says so instead of offering weak neighbours. It also says which levels are open and
  how many memories sit in the locked ones (their content cannot be searched without their keys).
- timeline {days?, to?, categories?, limit?, cursor?}: what happened, day by day, newest first.
- get_memory {id}: one memory in full. related_memories {id}: the memories linked to it.
- remember {text, at?, category?}: stores a new memory; memvault classifies it unless you pass a category.
- correct_memory {id, category}: moves a memory to the category the user says is right (memvault learns from it).
- forget_memory {id}: deletes a memory for good. Only when the user asks for it.
- digest {date?, week?}: the day or week in a few lines.
- search {query} and fetch {id}: the same memories in the shape ChatGPT connectors and deep research expect.

Lists are paged: when a result carries nextCursor, call the same tool with the same arguments and that cursor
for the next page. Long memories are cut in lists; get_memory returns the whole text.

## Levels you cannot read

Locked levels are invisible: no tool returns their content, and search does not look inside them. Level 2 keeps
the dates of its memories visible, so counts in a date window are exact; levels 3–4 seal their dates too, so
their counts are for all time. Asking the user to unlock a level in the memvault app is the only way to read it.
remember still stores a secret while its level is locked (sealing needs no secret key), so it becomes
write-only for you.

## Resources and prompts

- memvault://guide: this guide.
- memvault://memory/{id}: one memory as a resource (the same text as get_memory).
- Prompts: recap_my_week ("Recap my week") and what_do_i_know_about {person}.

Every read of a level 2–4 memory, and every refused one, is written to the person's tamper-evident audit log
with the name of the client that asked.
`;
