"""newsbot's core: articles, retrieval, answers, conversation log. Never imports telegram."""
