"""The library of articles: editions swapped whole on reload, and what a reload changed."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from bot.articles import load_collection
from bot.conversation.conversation import Conversation
from bot.serving.library import Library, compare
from bot.serving.reload import reload_articles
from bot.storage.state import ConversationKey, MemoryState

WHO = ConversationKey(1, 1)


def write_harbours(folder: Path, count: int) -> None:
    folder.mkdir()
    for n in range(count):
        (folder / f"{n:03}.txt").write_text(
            f"Harbour report {n}\n\nThe harbour of town {n} handled {n * 7} ships in May.\n"
            "Dockers said the new cranes worked well.\n",
            encoding="utf-8",
        )


def test_compare_names_added_updated_removed_and_skipped(tmp_path: Path) -> None:
    """A changed folder: the new, edited and deleted articles by title, unreadable files."""
    folder = tmp_path / "articles"
    write_harbours(folder, 3)
    before = load_collection(folder)
    (folder / "000.txt").unlink()
    (folder / "001.txt").write_text("Harbour report 1\n\nNow closed for winter.\n")
    (folder / "009.txt").write_text("Quokka census\n\nRangers counted 12,000 quokkas.\n")
    (folder / "010.txt").write_bytes(b"\x00\x01binary")
    changes = compare(before, load_collection(folder))
    assert (changes.added, changes.updated, changes.removed) == (
        ("Quokka census",),
        ("Harbour report 1",),
        ("Harbour report 0",),
    )
    assert [name for name, _ in changes.skipped] == ["010.txt"]
    assert changes.summary() == "1 added, 1 updated, 1 removed, 1 skipped; 3 articles"
    assert not compare(before, before).changed


async def test_questions_during_a_reload_are_answered_from_one_whole_collection(
    tmp_path: Path,
) -> None:
    """A reload in another thread while questions are answered: every answer comes from
    the old or the new collection, never from a mix, and none fails."""
    folder = tmp_path / "articles"
    write_harbours(folder, 300)
    library = Library.of(load_collection(folder))
    conversation = Conversation(library, MemoryState())
    old = {id(a) for a in library.collection.articles}
    (folder / "999.txt").write_text(
        "Quokka census\n\nRangers counted 12,000 quokkas on the island.\n", encoding="utf-8"
    )
    reload = threading.Thread(target=reload_articles, args=(library, folder, tmp_path / "cache"))
    reload.start()
    answers = []
    while reload.is_alive() or len(answers) < 5:
        reply = await conversation.ask("How many ships did the harbour handle?", WHO)
        assert reply.answer is not None and reply.answer.answered
        answers.append(reply)
    await asyncio.to_thread(reload.join)
    assert library.generation == 2
    new = {id(a) for a in library.collection.articles}
    for reply in answers:
        assert reply.answer is not None
        cited = {id(hit.passage.article) for hit in reply.answer.hits}
        assert cited <= old or cited <= new
    quokkas = await conversation.ask("How many quokkas were counted?", WHO)
    assert "12,000 quokkas" in quokkas.messages[0]
