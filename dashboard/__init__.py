"""ganbench dashboard: Streamlit app (app.py) over pure-pandas data loading (data.py)."""
