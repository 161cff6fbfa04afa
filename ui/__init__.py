"""The Gradio chat UI (built from rag services; see the UI issue). Nothing here yet."""
