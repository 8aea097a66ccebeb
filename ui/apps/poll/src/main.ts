// The poll's page: the form a host or manager starts a poll with, the vote buttons and the
// live results. The model and the wire format are in tally.ts.
import type { AppMessage } from "../../../apps-sdk/src/types";
import { connect, join, stateWriter, type Member } from "../../shared/channel";
import { randomId } from "../../shared/ids";
import { CAPABILITIES } from "./capabilities";
import { MAX_OPTION_CHARS, MAX_OPTIONS, MAX_QUESTION_CHARS, MIN_OPTIONS, Tally, pollFromForm, type Poll } from "./tally";

const sdk = window.huddleApps;

function element<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

const createSection = element<HTMLElement>("create");
const questionInput = element<HTMLInputElement>("question");
const optionsBox = element<HTMLDivElement>("options");
const startButton = element<HTMLButtonElement>("start-poll");
const cancelButton = element<HTMLButtonElement>("cancel-poll");
const currentSection = element<HTMLElement>("current");
const questionHeading = element<HTMLHeadingElement>("poll-question");
const choicesList = element<HTMLUListElement>("choices");
const summary = element<HTMLParagraphElement>("summary");
const closeButton = element<HTMLButtonElement>("close-poll");
const newButton = element<HTMLButtonElement>("new-poll");
const waiting = element<HTMLParagraphElement>("waiting");
const viewOnly = element<HTMLParagraphElement>("view-only");
const status = element<HTMLParagraphElement>("status");

let tally = new Tally();
let member: Member | null = null;
/** The poll whose choices are on the page. */
let shownPoll: string | null = null;
/** A moderator chose New poll over the results of the last one. */
let composing = false;
/** The poll I started and have not seen on the channel yet. */
let starting: string | null = null;
/** The poll I sent a vote in: no second vote while the first is on its way. */
let votingIn: string | null = null;

const saveState = stateWriter(sdk, () => tally.snapshot());

let statusTimer: ReturnType<typeof setTimeout> | undefined;
/** Shows a line under the poll; it fades after a while unless it is `lasting`. */
function tell(text: string, lasting = false): void {
  status.textContent = text;
  clearTimeout(statusTimer);
  if (!lasting) statusTimer = setTimeout(() => (status.textContent = ""), 6000);
}

function send(payload: unknown, what: string, failed: () => void = () => {}): void {
  sdk.postMessage(payload).catch((err: unknown) => {
    failed();
    render();
    tell(`${what} not sent: ${err instanceof Error ? err.message : String(err)}`);
  });
}

// The form: one empty option field waits at the end until there are six.

function optionInputs(): HTMLInputElement[] {
  return [...optionsBox.querySelectorAll("input")];
}

function addOption(): void {
  const i = optionInputs().length;
  const input = document.createElement("input");
  input.type = "text";
  input.id = `option-${i}`;
  input.maxLength = MAX_OPTION_CHARS;
  input.autocomplete = "off";
  input.placeholder = `Option ${i + 1}`;
  input.setAttribute("aria-label", `Option ${i + 1}`);
  input.addEventListener("input", () => {
    const inputs = optionInputs();
    if (inputs.length < MAX_OPTIONS && inputs[inputs.length - 1].value.trim() !== "") addOption();
    render();
  });
  input.addEventListener("keydown", startOnEnter);
  optionsBox.append(input);
}

function resetForm(): void {
  questionInput.value = "";
  optionsBox.replaceChildren();
  for (let i = 0; i < MIN_OPTIONS; i++) addOption();
}

function formPoll(): Omit<Poll, "id"> | null {
  return pollFromForm(
    questionInput.value,
    optionInputs().map((input) => input.value),
  );
}

function startPoll(): void {
  const content = formPoll();
  if (!member?.isModerator || !content || starting) return;
  const id = randomId();
  starting = id;
  render();
  send({ t: "poll", id, ...content }, "The poll", () => (starting = null));
}

function startOnEnter(event: KeyboardEvent): void {
  if (event.key === "Enter") startPoll();
}

// The results.

function buildChoices(poll: Poll): void {
  choicesList.replaceChildren(
    ...poll.options.map((option, i) => {
      const row = document.createElement("li");
      row.className = "choice";
      const vote = document.createElement("button");
      vote.type = "button";
      vote.id = `vote-${i}`;
      vote.className = "vote";
      vote.textContent = option;
      vote.addEventListener("click", () => castVote(poll.id, i));
      const count = document.createElement("span");
      count.id = `count-${i}`;
      count.className = "count";
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.append(document.createElement("span"));
      row.append(vote, count, bar);
      return row;
    }),
  );
  questionHeading.textContent = poll.question;
  shownPoll = poll.id;
}

function castVote(pollId: string, option: number): void {
  if (!member?.maySend || votingIn === pollId || !tally.isOpen(pollId) || tally.votes.has(member.me.participantId)) {
    return;
  }
  votingIn = pollId;
  render();
  send({ t: "vote", poll: pollId, option }, "Your vote", () => (votingIn = null));
}

function closePoll(): void {
  if (member?.isModerator && tally.poll && !tally.closed) send({ t: "close", poll: tally.poll.id }, "Closing");
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function renderResults(poll: Poll): void {
  if (shownPoll !== poll.id) buildChoices(poll);
  const counts = tally.counts();
  const total = counts.reduce((a, b) => a + b, 0);
  const mine = member ? tally.votes.get(member.me.participantId) : undefined;
  const mayVote = (member?.maySend ?? false) && !tally.closed && mine === undefined && votingIn !== poll.id;
  counts.forEach((count, i) => {
    const vote = element<HTMLButtonElement>(`vote-${i}`);
    vote.disabled = !mayVote;
    vote.classList.toggle("mine", mine === i);
    vote.setAttribute("aria-pressed", String(mine === i));
    element(`count-${i}`).textContent = String(count);
    const fill = vote.parentElement?.querySelector<HTMLElement>(".bar span");
    if (fill) fill.style.width = `${total === 0 ? 0 : (100 * count) / total}%`;
  });
  const parts = [plural(total, "vote", "votes")];
  if (mine !== undefined) parts.push("you voted");
  if (tally.closed) parts.push("closed");
  summary.textContent = parts.join(" · ");
  closeButton.hidden = !member?.isModerator || tally.closed;
  newButton.hidden = !member?.isModerator || !tally.closed;
  document.body.dataset.votes = String(total);
}

function render(): void {
  const poll = tally.poll;
  const moderator = member?.isModerator ?? false;
  const showForm = moderator && (poll === null || composing);
  createSection.hidden = !showForm;
  cancelButton.hidden = poll === null;
  startButton.disabled = starting !== null || formPoll() === null;
  currentSection.hidden = poll === null || showForm;
  waiting.hidden = member === null || poll !== null || moderator;
  viewOnly.hidden = member === null || member.maySend;
  if (poll) renderResults(poll);
  else document.body.dataset.votes = "0";
  document.body.dataset.closed = tally.closed ? "1" : "0";
}

/** Applies a message; true when the tally changed. */
function receive(message: AppMessage): boolean {
  const before = tally.poll?.id;
  const changed = tally.apply(message, (id) => member?.roles.isModerator(id) ?? false);
  if (tally.poll?.id !== before) {
    // A new poll: the form is done with, whoever started it.
    composing = false;
    if (tally.poll?.id === starting) resetForm();
    starting = null;
  }
  return changed;
}

questionInput.maxLength = MAX_QUESTION_CHARS;
questionInput.addEventListener("input", render);
questionInput.addEventListener("keydown", startOnEnter);
startButton.addEventListener("click", startPoll);
cancelButton.addEventListener("click", () => {
  composing = false;
  render();
});
closeButton.addEventListener("click", closePoll);
newButton.addEventListener("click", () => {
  composing = true;
  resetForm();
  render();
  questionInput.focus();
});
resetForm();

async function start(): Promise<void> {
  member = await join(sdk, CAPABILITIES, render);
  render();
  await connect(sdk, {
    connected(state, recent) {
      tally = Tally.fromState(state);
      let replayed = false;
      for (const message of recent) replayed = receive(message) || replayed;
      render();
      // The snapshot missed what was replayed: store the tally as it is now.
      if (replayed && member?.maySend) saveState();
    },
    message(message) {
      const changed = receive(message);
      render();
      if (changed && member?.maySend) saveState();
    },
  });
  document.body.dataset.ready = "1";
}

start().catch((err: unknown) => {
  tell(`The poll could not start: ${err instanceof Error ? err.message : String(err)}`, true);
});
