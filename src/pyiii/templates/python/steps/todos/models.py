"""Shared models: step files import them relatively (``from .models import Todo``)."""

from pydantic import BaseModel, Field


class NewTodo(BaseModel):
    title: str = Field(min_length=1)


class Todo(NewTodo):
    id: str
    done: bool = False
